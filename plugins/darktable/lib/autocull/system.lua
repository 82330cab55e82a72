--[[
  autocull/system.lua - the few operating-system calls the plugin makes.

  Plain Lua io/os only (works inside darktable and under busted). Built once
  with the OS name darktable reports; http.lua and the controller receive it.
]]

local M = {}

local function shell_quote(s, os_name)
  if os_name == "windows" then return '"' .. s .. '"' end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.new(os_name)
  local sys = { os = os_name or "linux", getenv = os.getenv }

  function sys.popen_read(cmd)
    local p = io.popen(cmd, "r")
    if not p then return nil end
    local out = p:read("*a")
    p:close()
    return out
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

  --- A new folder only this user can enter, with the request files already
  -- created mode 0600 (so the token is never in a file others could read).
  function sys.make_private_dir()
    if sys.os == "windows" then
      local base = os.getenv("TEMP") or os.getenv("TMP")
      if not base then return nil, "TEMP is not set" end
      math.randomseed(os.time() + math.floor((os.clock() * 1e6) % 1e6))
      local dir = string.format("%s\\autocull-%d-%06d", base, os.time(), math.random(0, 999999))
      os.execute("mkdir " .. shell_quote(dir, "windows"))
      local f = io.open(dir .. "\\body.json", "wb")
      if not f then return nil, "cannot create " .. dir end
      f:close()
      return dir
    end
    local base = os.getenv("TMPDIR")
    if not base or base == "" then base = "/tmp" end
    local template = shell_quote(base:gsub("/+$", "") .. "/autocull.XXXXXXXX", "linux")
    local out = sys.popen_read("umask 077 && d=$(mktemp -d " .. template .. ") && " ..
      "touch \"$d/request.cfg\" \"$d/body.json\" \"$d/answer.json\" && printf '%s' \"$d\"")
    if not out or out == "" then return nil, "mktemp failed in " .. base end
    return out
  end

  return sys
end

return M
