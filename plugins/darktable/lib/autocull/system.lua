--[[
  lib/autocull/system.lua - the few operating-system calls the plugin makes.

  Plain Lua io/os only (works inside darktable and under busted). Built once
  with the OS name darktable reports; http.lua and the controller receive it.

  Command lines. io.popen and os.execute hand their string to the shell: /bin/sh
  -c on Linux/macOS, `cmd.exe /c` on Windows. cmd /c has its own rules (`cmd /?`):
    * unless the line has exactly two quotes around the name of a program, a line
      that starts with a quote loses that quote and the LAST quote on the line,
      so `"curl" -K "C:\x\request.cfg"` would run `curl" -K "C:\x\request.cfg`;
      lua-scripts' dtutils.system wraps the whole line in one more pair of quotes
      for this, and so do we;
    * %NAME% is expanded even inside quotes; `^` escapes only outside quotes, so
      a `%` in an argument is written as `"..."^%"..."`;
    * & | < > ^ ( ) are plain characters inside quotes, which every argument has.
  The program (curl, built with the Microsoft C runtime) then splits the line into
  arguments: backslashes just before a quote must be doubled. A double quote can
  not be in a Windows file name; an argument with one (or a line break) is refused.
]]

local M = {}

--- The path separator of the host darktable runs on.
function M.separator(os_name)
  return os_name == "windows" and "\\" or "/"
end

-- for_builtin: cmd's own built-ins read backslashes literally; programs read them with the C runtime's rule
local function quote_windows(s, for_builtin)
  if s:find('[%z\r\n"]') then
    return nil, "a Windows command argument cannot contain a double quote or a line break: " .. s
  end
  local double = for_builtin and function(bs) return bs end or function(bs) return bs .. bs end
  -- backslashes that end up right before a quote we add are doubled (the C runtime halves them again)
  local body = s:gsub("(\\*)%%", function(bs) return double(bs) .. '"^%"' end)
  body = body:gsub("(\\+)$", double)
  return '"' .. body .. '"'
end

--- Quote one argument for the shell io.popen/os.execute use on `os_name`.
-- A plain word (letters, digits, - _ . , : / +) needs no quotes on either shell and gets none.
-- Returns the quoted text, or nil and a message for an argument Windows cannot take.
-- opts.builtin: the argument is for a cmd.exe built-in (rmdir, mkdir), not a program.
function M.quote(s, os_name, opts)
  s = tostring(s)
  if s:match("^[%w%-_.,:/+]+$") then return s end
  if os_name == "windows" then return quote_windows(s, opts and opts.builtin) end
  if s:find("%z") then return nil, "a command argument cannot contain a NUL byte" end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The command line for io.popen/os.execute that runs `words` exactly.
-- words[1] is the program; with opts.builtin it is a cmd.exe built-in (rmdir, mkdir) and
-- stays unquoted (cmd does not recognise a quoted built-in).
-- Returns the line, or nil and a message.
function M.command_line(words, os_name, opts)
  local parts = {}
  for i, w in ipairs(words) do
    if i == 1 and opts and opts.builtin then
      assert(w:match("^%a+$"), "a built-in command is a plain word")
      parts[i] = w
    else
      local q, err = M.quote(w, os_name, opts)
      if not q then return nil, err end
      parts[i] = q
    end
  end
  local line = table.concat(parts, " ")
  if os_name == "windows" then
    -- cmd /c strips the first and the last quote of a line starting with one: give it a pair to strip
    line = '"' .. line .. '"'
  end
  return line
end

--- sys = system.new(os_name [, host]): host = {popen, execute, getenv} (default io.popen,
-- os.execute, os.getenv), replaceable so the specs can put a model of cmd.exe behind it.
function M.new(os_name, host)
  host = host or {}
  local popen = host.popen or io.popen
  local execute = host.execute or os.execute
  local sys = { os = os_name or "linux", getenv = host.getenv or os.getenv }
  sys.sep = M.separator(sys.os)

  function sys.popen_read(cmd)
    local p = popen(cmd, "r")
    if not p then return nil end
    local out = p:read("*a")
    p:close()
    return out
  end

  --- Run `words` (program and arguments) and return its standard output, or nil and a message.
  function sys.run_read(words)
    local line, err = M.command_line(words, sys.os)
    if not line then return nil, err end
    return sys.popen_read(line)
  end

  function sys.read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local text = f:read("*a")
    f:close()
    return text
  end

  function sys.write_file(path, text)
    local f, err = io.open(path, "wb")
    if not f then return nil, err end
    f:write(text)
    f:close()
    return true
  end

  function sys.remove(path)
    return os.remove(path)
  end

  function sys.rename(from, to)
    return os.rename(from, to)
  end

  --- Remove an empty folder. os.remove does that on Linux/macOS but not on Windows,
  -- where the C library's remove() only deletes files: there it is cmd's rmdir.
  function sys.remove_dir(path)
    if sys.os ~= "windows" then return os.remove(path) end
    local line, err = M.command_line({ "rmdir", path }, "windows", { builtin = true })
    if not line then return nil, err end
    local ok = execute(line)            -- Lua 5.1: the exit code; 5.2+: true or nil
    if ok == true or ok == 0 then return true end
    return nil, "could not remove the folder " .. path
  end

  --- A new folder only this user can enter, with the request files already
  -- created mode 0600 (so the token is never in a file others could read).
  function sys.make_private_dir()
    if sys.os == "windows" then
      local base = sys.getenv("TEMP") or sys.getenv("TMP")
      if not base or base == "" then return nil, "TEMP is not set" end
      math.randomseed(os.time() + math.floor((os.clock() * 1e6) % 1e6))
      local dir = string.format("%s%sautocull-%d-%06d", base:gsub("[\\/]+$", ""), sys.sep, os.time(),
        math.random(0, 999999))
      local line, err = M.command_line({ "mkdir", dir }, "windows", { builtin = true })
      if not line then return nil, err end
      execute(line)
      local f = io.open(dir .. sys.sep .. "body.json", "wb")
      if not f then return nil, "cannot create " .. dir end
      f:close()
      return dir
    end
    local base = sys.getenv("TMPDIR")
    if not base or base == "" then base = "/tmp" end
    local template = M.quote(base:gsub("/+$", "") .. "/autocull.XXXXXXXX", "linux")
    local out = sys.popen_read("umask 077 && d=$(mktemp -d " .. template .. ") && " ..
      "touch \"$d/request.cfg\" \"$d/body.json\" \"$d/answer.json\" && printf '%s' \"$d\"")
    if not out or out == "" then return nil, "mktemp failed in " .. base end
    return out
  end

  return sys
end

return M
