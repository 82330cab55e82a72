-- The command lines the plugin gives io.popen/os.execute, checked against what cmd.exe /c
-- would actually run (spec/support/cmd_exe.lua models its documented rules) and, for
-- Linux/macOS, against a real /bin/sh.
local system = require "lib/autocull/system"
local http = require "lib/autocull/http"
local cmd = require "spec.support.cmd_exe"
local F = require "spec.support.fakes"

-- variables a Windows session has, plus ones named like the text in the awkward paths
local ENV = { TEMP = "C:\\Users\\ann\\AppData\\Local\\Temp", USERNAME = "ann", x = "EXPANDED", y = "EXPANDED",
              ["20"] = "EXPANDED", PATH = "C:\\Windows" }

local function every_program(_) return true end  -- rule 1 at its most eager: any text is a program

local AWKWARD = {
  "C:\\Users\\ann\\AppData\\Local\\Temp\\autocull-1-000001\\request.cfg",
  "C:\\Users\\Ann Lee\\AppData\\Local\\Temp\\autocull-1-000001\\request.cfg",
  "C:\\Users\\R&D\\Temp\\request.cfg",
  "C:\\Users\\a^b\\Temp\\request.cfg",
  "C:\\Users\\100%x%y\\Temp\\request.cfg",
  "C:\\Users\\%USERNAME%\\Temp\\request.cfg",
  "C:\\Users\\50%\\%20\\request.cfg",
  "C:\\Program Files (x86)\\curl\\request.cfg",
  "C:\\Users\\wow!\\@home\\it's <here> | there\\request.cfg",
  "C:\\Users\\café ünï\\request.cfg",
  "\\\\server\\share name\\photos\\",
  "C:\\trailing\\",
  "C:\\Users\\back\\\\%x%\\\\slashes",
}

describe("cmd.exe /c, as modelled", function()
  it("strips the first and last quote of the plain quoted command, as the issue reports", function()
    local plain = '"curl" -K "C:\\Users\\Ann Lee\\request.cfg"'
    local ran = assert(cmd.run(plain, { env = ENV, is_program = every_program }))
    assert.equals('curl -K C:\\Users\\Ann', ran.argv[1])   -- not curl: every call failed on Windows
  end)
  it("keeps the quotes of exactly one quoted program name with a space", function()
    local ran = cmd.run('"C:\\Program Files\\curl\\curl.exe"', { is_program = every_program })
    assert.same({ "C:\\Program Files\\curl\\curl.exe" }, ran.argv)
  end)
  it("expands %NAME% inside quotes and refuses a bare &", function()
    assert.same({ "x", "C:\\Users\\ann" }, cmd.run('x "C:\\Users\\%USERNAME%"', { env = ENV }).argv)
    assert.is_nil((cmd.run('x "a"&b', { env = ENV })))
  end)
end)

describe("the command line for Windows", function()
  for _, path in ipairs(AWKWARD) do
    it("runs curl -K with exactly " .. path, function()
      for _, curl in ipairs({ "curl", "C:\\Program Files\\curl 8\\curl.exe", "C:\\tools\\100%x%\\curl.exe" }) do
        local line = assert(system.command_line({ curl, "-K", path }, "windows"))
        local ran = assert(cmd.run(line, { env = ENV, is_program = every_program }))
        assert.is_false(ran.builtin)
        assert.same({ curl, "-K", path }, ran.argv)
      end
    end)
    it("runs rmdir and mkdir on exactly " .. path, function()
      for _, builtin in ipairs({ "rmdir", "mkdir" }) do
        local line = assert(system.command_line({ builtin, path }, "windows", { builtin = true }))
        local ran = assert(cmd.run(line, { env = ENV, is_program = every_program }))
        assert.is_true(ran.builtin)
        assert.same({ builtin, path }, ran.argv)
      end
    end)
  end

  it("refuses a double quote or a line break (no Windows file name has one)", function()
    assert.is_nil((system.command_line({ "curl", "-K", 'C:\\a"b' }, "windows")))
    assert.is_nil((system.command_line({ "curl", "-K", "C:\\a\nb" }, "windows")))
    local sys = F.system({})
    sys.os = "windows"
    local s = http.session({ host = "127.0.0.1", port = 50852, token = "s3cret" }, sys, F.json,
      { curl = 'C:\\bad"curl.exe' })
    local answer, err = s:call("GetStatus", {})
    assert.is_nil(answer)
    assert.matches("double quote", err.message)
    assert.same({}, sys.commands)                       -- nothing was run
  end)

  it("is what a Windows session gives popen for each request", function()
    local sys = F.system({})
    sys.os = "windows"
    local seen
    sys.popen_read = function(line) seen = line; return "AUTOCULL_HTTP 000 7\n" end
    sys.make_private_dir = function() return "C:\\Users\\R&D 100%x%\\Temp\\autocull-1-000002" end
    local s = http.session({ host = "127.0.0.1", port = 50852, token = "s3cret" }, sys, F.json)
    s:call("GetStatus", {})
    local ran = assert(cmd.run(seen, { env = ENV, is_program = every_program }))
    assert.same({ "curl", "-K", "C:\\Users\\R&D 100%x%\\Temp\\autocull-1-000002\\request.cfg" }, ran.argv)
  end)
end)

describe("the command line for Linux and macOS, through a real /bin/sh", function()
  it("passes every argument through unchanged", function()
    local args = { "printf", "[%s]\\n" }
    local want = {}
    for _, p in ipairs({ "/tmp/a b/it's é", "$HOME `id` $(id)", "a;b&c|d>e<f", "-K", "*", "~", "back\\slash" }) do
      args[#args + 1] = p
      want[#want + 1] = "[" .. p .. "]"
    end
    local sys = system.new("linux")
    local out = assert(sys.run_read(args))
    assert.equals(table.concat(want, "\n") .. "\n", out)
  end)
end)

describe("removing the request folder", function()
  local function tmpdir(name)
    local base = os.tmpname()
    os.remove(base)
    local dir = base .. name
    assert(os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'") == 0 or true)
    return dir
  end
  local function exists(path) return os.rename(path, path) ~= nil end

  it("on Windows runs rmdir on exactly that folder (os.remove cannot remove folders there)", function()
    local dir = tmpdir(" R&D ^ 100%x% (copy)")
    local ran
    local sys = system.new("windows", {
      execute = function(line)
        ran = assert(cmd.run(line, { env = ENV, is_program = every_program }))
        -- what cmd would run, done on this file system: rmdir of an empty folder
        if ran.builtin and ran.argv[1] == "rmdir" and #ran.argv == 2 then
          return os.remove(ran.argv[2]) and true or nil
        end
        return nil
      end,
    })
    assert.is_true(exists(dir))
    assert.is_true(sys.remove_dir(dir))
    assert.same({ "rmdir", dir }, ran.argv)
    assert.is_false(exists(dir))
  end)

  it("reports a folder that is still there", function()
    local sys = system.new("windows", { execute = function() return nil, "exit", 145 end })
    local ok, err = sys.remove_dir("C:\\Temp\\autocull-1-1")
    assert.is_nil(ok)
    assert.matches("could not remove", err)
  end)

  it("on Linux removes the empty folder", function()
    local dir = tmpdir(" linux")
    assert.is_true(system.new("linux").remove_dir(dir))
    assert.is_false(exists(dir))
  end)

  it("a session on Windows removes its folder with remove_dir when it closes", function()
    local sys = F.system({ GetStatus = function() return 200, {} end })
    local s = http.session({ host = "127.0.0.1", port = 50852, token = "s3cret" }, sys, F.json)
    s:call("GetStatus", {})
    s:close()
    assert.same({ "/tmp/autocull.test1" }, sys.removed_dirs)
  end)

  it("the Windows folder is made by mkdir of exactly the path it returns, with the host's separator", function()
    local base = tmpdir(" base & co")
    local made
    local sys = system.new("windows", {
      getenv = function(k) if k == "TEMP" then return base .. "\\" end end,
      execute = function(line)
        made = assert(cmd.run(line, { env = ENV, is_program = every_program }))
        return true
      end,
    })
    local dir = assert(sys.make_private_dir())
    assert.matches("^" .. base:gsub("%p", "%%%0") .. "\\autocull%-%d+%-%d+$", dir)
    assert.same({ "mkdir", dir }, made.argv)
    os.remove(dir .. "\\body.json")   -- on this Linux host that is a file beside, not inside, the folder
    os.remove(base)
  end)
end)
