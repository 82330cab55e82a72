--[[
  autocull/daemon_state.lua - where the AutoCull daemon says it listens.

  The daemon writes <home>/state.json (mode 0600) when it is listening:
    {"token": ..., "http_port": ..., "grpc_port": ..., "host": "127.0.0.1", "pid": ...}
  home = $AUTOCULL_HOME, else the platform default below.

  Pure Lua (5.1 .. 5.4): the environment, the OS name and the file reader are
  passed in, so the busted specs run it without darktable.
]]

local M = {}

--- The daemon's home folder.
-- @param env function(name) -> string|nil (os.getenv)
-- @param running_os "linux" | "macos" | "windows" | "unix" (darktable.configuration.running_os)
-- @param override string|nil a folder the user chose in the preferences
function M.home(env, running_os, override)
  if override and override ~= "" then return override end
  local explicit = env("AUTOCULL_HOME")
  if explicit and explicit ~= "" then return explicit end
  if running_os == "windows" then
    local appdata = env("APPDATA")
    if not appdata or appdata == "" then return nil, "APPDATA is not set" end
    return appdata .. "\\AutoCull"
  end
  local home = env("HOME")
  if not home or home == "" then return nil, "HOME is not set" end
  if running_os == "macos" then
    return home .. "/Library/Application Support/AutoCull"
  end
  return home .. "/.config/autocull"
end

function M.state_path(home, running_os)
  local sep = running_os == "windows" and "\\" or "/"
  return home .. sep .. "state.json"
end

--- Read and check state.json.
-- @param read_file function(path) -> string|nil, err
-- @param decode function(text) -> table|nil, err (JSON)
-- @return state {token, http_port, host, pid} or nil, message for a photographer
function M.load(home, running_os, read_file, decode)
  local path = M.state_path(home, running_os)
  local text = read_file(path)
  if not text then
    return nil, "the AutoCull daemon is not running (no " .. path ..
      "): start it with `autocull serve`"
  end
  local ok, state = pcall(decode, text)
  if not ok or type(state) ~= "table" then
    return nil, "the AutoCull state file " .. path .. " is not valid JSON: restart the daemon"
  end
  local port = tonumber(state.http_port)
  if type(state.token) ~= "string" or state.token == "" or not port or port <= 0 or port > 65535
      or port ~= math.floor(port) then
    return nil, "the AutoCull state file " .. path .. " has no token or HTTP port: restart the daemon"
  end
  if state.token:find("[\r\n\"\\]") then
    return nil, "the AutoCull state file " .. path .. " holds a token with control characters"
  end
  local host = state.host
  if host == nil or host == "" then host = "127.0.0.1" end
  if host ~= "127.0.0.1" and host ~= "localhost" and host ~= "::1" then
    return nil, "the AutoCull state file names host " .. tostring(host) ..
      ": the plugin only talks to a daemon on this machine"
  end
  return { token = state.token, http_port = port, host = host, pid = state.pid, path = path }
end

return M
