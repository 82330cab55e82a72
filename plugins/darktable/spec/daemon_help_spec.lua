-- "start daemon" judges `autocull service start` by its exit status, never by its words: a
-- localised Windows says "nicht gefunden", and a started service may print "not found" in a
-- harmless line. Windows is checked against the cmd /c model, Linux/macOS against a real /bin/sh.
local daemon_help = require "lib/autocull/daemon_help"
local system = require "lib/autocull/system"
local cmd = require "spec.support.cmd_exe"

local PROGRAM = [[C:\Program Files\AutoCull\autocull.exe]]
local GERMAN_NOT_FOUND = '"autocull" ist entweder falsch geschrieben oder\nkonnte nicht gefunden werden.\n'

--- A Windows host: popen runs the line through the cmd /c model; `program(argv)` -> code, output.
local function windows(program)
  local host = { os = "windows", lines = {}, ran = {} }
  function host.popen_read(line)
    host.lines[#host.lines + 1] = line
    -- rule 1: only the program files exist ("autocull service start" names none)
    local r = assert(cmd.run_sequence(line, { is_program = function(t) return t == PROGRAM end, exit_code = function(argv)
      host.ran[#host.ran + 1] = argv
      return program(argv)
    end }))
    return r.output
  end
  return host
end

describe("start daemon on Windows (cmd /c)", function()
  it("a localised 'not found' (exit 9009) is a failure that says where to set the program", function()
    local host = windows(function() return 9009, GERMAN_NOT_FOUND end)
    local ok, msg = daemon_help.start(host, "autocull")
    assert.is_false(ok, msg)
    assert.matches("nicht gefunden", msg)
    assert.matches("autocull program", msg)
    assert.same({ { "autocull", "service", "start" } }, host.ran)
  end)

  it("a service that fails to start (exit 1) is a failure", function()
    local ok, msg = daemon_help.start(windows(function() return 1, "the service is not installed\n" end), PROGRAM)
    assert.is_false(ok, msg)
    assert.matches("not installed", msg)
  end)

  it("exit 0 is success, whatever the words; the program runs with exactly its arguments", function()
    local host = windows(function() return 0, "started (config not found, defaults used)\n" end)
    local ok, msg = daemon_help.start(host, PROGRAM)
    assert.is_true(ok, msg)
    assert.equals("started (config not found, defaults used)", msg)
    assert.same({ { PROGRAM, "service", "start" } }, host.ran)
  end)

  it("a program set as ~\\... runs from %USERPROFILE% (cmd never expands ~)", function()
    local exe = [[C:\Users\Ann Lee\AutoCull\.venv\Scripts\autocull.exe]]
    local host = { os = "windows", ran = {} }
    function host.getenv(name) return name == "USERPROFILE" and [[C:\Users\Ann Lee]] or nil end
    function host.popen_read(line)
      local r = assert(cmd.run_sequence(line, { is_program = function(t) return t == exe end, exit_code = function(argv)
        host.ran[#host.ran + 1] = argv
        return 0, "started\n"
      end }))
      return r.output
    end
    for _, typed in ipairs { [[~\AutoCull\.venv\Scripts\autocull.exe]], "~/AutoCull/.venv/Scripts/autocull.exe" } do
      local ok, msg = daemon_help.start(host, typed)
      assert.is_true(ok, msg)
    end
    assert.same({ { exe, "service", "start" }, { exe, "service", "start" } }, host.ran)
  end)

  it("the model shows why %errorlevel% is not used: cmd expands it before the program runs", function()
    local r = cmd.run_sequence('"autocull service start" & echo CODE=%errorlevel%',
      { exit_code = function() return 9009 end })
    assert.equals("CODE=0\n", r.output)
  end)
end)

describe("start daemon on Linux/macOS (/bin/sh)", function()
  local dir
  before_each(function()
    dir = os.tmpname() .. ".d"
    os.remove(dir:sub(1, -3))
    assert(os.execute("mkdir -p '" .. dir .. "'"))
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  local function script(name, body)
    local path = dir .. "/" .. name
    local f = assert(io.open(path, "w"))
    f:write("#!/bin/sh\n" .. body .. "\n")
    f:close()
    assert(os.execute("chmod +x '" .. path .. "'"))
    return path
  end

  it("a program that is not there fails, in any language", function()
    local ok, msg = daemon_help.start(system.new("linux"), dir .. "/no such autocull")
    assert.is_false(ok, msg)
    assert.matches("autocull program", msg)
  end)

  it("a localised failure message with a non-zero exit is a failure", function()
    local program = script("autocull", 'echo "Dienst konnte nicht gestartet werden" >&2; exit 3')
    local ok, msg = daemon_help.start(system.new("linux"), program)
    assert.is_false(ok, msg)
    assert.matches("nicht gestartet", msg)
    assert.matches("exit 3", msg)
  end)

  it("a program set as ~/... runs from $HOME through the real /bin/sh (sh leaves a quoted ~ alone)", function()
    local home = dir .. "/Ann Home" -- a space, as in many home folders
    assert(os.execute("mkdir -p '" .. home .. "/AutoCull/.venv/bin'"))
    local f = assert(io.open(home .. "/AutoCull/.venv/bin/autocull", "w"))
    f:write('#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/ran"; echo started\n')
    f:close()
    assert(os.execute("chmod +x '" .. home .. "/AutoCull/.venv/bin/autocull'"))
    local sys = system.new("linux", { getenv = function(name)
      if name == "HOME" then return home end
      return os.getenv(name)
    end })
    local ok, msg = daemon_help.start(sys, "~/AutoCull/.venv/bin/autocull")
    assert.is_true(ok, msg)
    assert.equals("started", msg)
    local r = assert(io.open(home .. "/AutoCull/.venv/bin/ran"))
    assert.equals("service\nstart\n", r:read("*a"))
    r:close()
    -- other ~ forms are the user's to spell out: left as typed
    assert.equals("~bob/autocull", daemon_help.expand_home("~bob/autocull", sys))
    assert.equals("/opt/~/autocull", daemon_help.expand_home("/opt/~/autocull", sys))
    assert.equals(home, daemon_help.expand_home("~", sys))
  end)

  it("exit 0 is success even when the output says 'not found'", function()
    local program = script("autocull", 'echo "started; old state file not found"; exit 0')
    local ok, msg = daemon_help.start(system.new("linux"), program)
    assert.is_true(ok, msg)
    assert.equals("started; old state file not found", msg)
  end)
end)
