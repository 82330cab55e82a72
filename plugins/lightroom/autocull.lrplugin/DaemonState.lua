--[[
  DaemonState.lua - where the AutoCull daemon's state file lives and what it says.

  The daemon writes <home>/state.json (mode 0600) once it listens:
    {"token": "...", "http_port": N, "grpc_port": N, "host": "127.0.0.1", "pid": N}
  home = $AUTOCULL_HOME, else macOS "~/Library/Application Support/AutoCull",
  Windows "%APPDATA%\AutoCull", Linux "~/.config/autocull".
  The Plug-in Manager can point at another state file (prefs.stateFile).
]]

local LrFileUtils = import "LrFileUtils"
local LrPathUtils = import "LrPathUtils"

local json = require "dkjson"

local M = {}

local function getenv(name)
  local ok, value = pcall(function() return os.getenv(name) end)
  if ok and value ~= nil and value ~= "" then return value end
  return nil
end

function M.default_home()
  local env = getenv("AUTOCULL_HOME")
  if env then return env end
  local home = LrPathUtils.getStandardFilePath("home")
  if WIN_ENV then
    local appdata = getenv("APPDATA") or LrPathUtils.child(LrPathUtils.child(home, "AppData"), "Roaming")
    return LrPathUtils.child(appdata, "AutoCull")
  elseif MAC_ENV then
    return LrPathUtils.child(LrPathUtils.child(LrPathUtils.child(home, "Library"), "Application Support"),
                             "AutoCull")
  end
  return LrPathUtils.child(LrPathUtils.child(home, ".config"), "autocull")
end

function M.default_path()
  return LrPathUtils.child(M.default_home(), "state.json")
end

-- The state file in use: the one set in the Plug-in Manager, else the default.
function M.path(prefs)
  local chosen = prefs and prefs.stateFile
  if type(chosen) == "string" and chosen ~= "" then return chosen end
  return M.default_path()
end

-- Read and check the state file.
-- @return {token, host, http_port, url, path} or nil, {kind = "no_state"|"bad_state", path, detail}
function M.read(path)
  if LrFileUtils.exists(path) ~= "file" then
    return nil, { kind = "no_state", path = path }
  end
  local ok, text = pcall(LrFileUtils.readFile, path)
  if not ok or type(text) ~= "string" then
    return nil, { kind = "bad_state", path = path, detail = tostring(text) }
  end
  local state, _, err = json.decode(text, 1, nil)
  if type(state) ~= "table" then
    return nil, { kind = "bad_state", path = path, detail = tostring(err or "not a JSON object") }
  end
  local port = tonumber(state.http_port)
  if type(state.token) ~= "string" or state.token == "" or not port or port <= 0 then
    return nil, { kind = "bad_state", path = path, detail = "token or http_port missing" }
  end
  local host = state.host
  if type(host) ~= "string" or host == "" or host == "0.0.0.0" then host = "127.0.0.1" end
  if host == "::1" then host = "[::1]" end
  return {
    token = state.token, host = host, http_port = port, path = path,
    url = string.format("http://%s:%d", host, port),
  }
end

return M
