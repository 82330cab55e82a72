--[[
  DaemonClient.lua - JSON over HTTP/1.1 to the AutoCull daemon (LrHttp.post).

  POST <url>/autocull.v1.AutoCull/<Method>, Content-Type: application/json,
  X-AutoCull-Token: <token>. Answers use protobuf's JSON mapping. Every failure comes
  back as (nil, err) with err.kind one of:
    "no_state"  the state file is missing (daemon never started here)
    "bad_state" the state file cannot be read
    "down"      nothing answers at the address (LrHttp network error)
    "timeout"   the daemon did not answer in time
    "auth"      the token was refused (401 unauthenticated)
    "server"    any other non-200 answer: err.code, err.message from the daemon
    "protocol"  the answer is not JSON
  Only callable inside an async task (LrHttp's rule).
]]

local LrHttp = import "LrHttp"

local json = require "dkjson"
local DaemonState = require "DaemonState"

local M = {}
local Client = {}
Client.__index = Client

M.SERVICE = "/autocull.v1.AutoCull/"

-- A table that encodes as a JSON object even when empty.
function M.object(t)
  return setmetatable(t or {}, { __jsontype = "object" })
end

-- Connect using the state file chosen in the preferences.
-- @return client or nil, err
function M.connect(prefs)
  local path = DaemonState.path(prefs)
  local state, err = DaemonState.read(path)
  if not state then return nil, err end
  return M.new(state, prefs and tonumber(prefs.httpTimeout) or 30)
end

function M.new(state, timeout)
  return setmetatable({ state = state, timeout = timeout or 30 }, Client)
end

local function header(headers, name)
  if type(headers) ~= "table" then return nil end
  local lname = string.lower(name)
  for _, h in ipairs(headers) do
    if type(h) == "table" and type(h.field) == "string" and string.lower(h.field) == lname then
      return h.value
    end
  end
  return nil
end
M.header = header

-- Call one method. `body` is a Lua table (nil = {}).
-- @return decoded answer or nil, err
function Client:call(method, body, timeout)
  local state = self.state
  local payload = json.encode(body == nil and M.object() or body)
  local url = state.url .. M.SERVICE .. method
  local response, headers = LrHttp.post(url, payload, {
    { field = "Content-Type", value = "application/json" },
    { field = "X-AutoCull-Token", value = state.token },
  }, "POST", timeout or self.timeout)
  local base = { method = method, url = state.url, path = state.path }
  if response == nil then
    local e = type(headers) == "table" and headers.error or nil
    local code = type(e) == "table" and e.errorCode or nil
    base.kind = (code == "timedOut") and "timeout" or "down"
    base.code = code or "noAnswer"
    base.detail = type(e) == "table" and (e.name or e.errorCode) or nil
    return nil, base
  end
  local status = type(headers) == "table" and tonumber(headers.status) or nil
  local decoded, _, derr = json.decode(response, 1, nil)
  if status ~= 200 then
    base.status = status
    base.code = type(decoded) == "table" and decoded.code or nil
    base.message = type(decoded) == "table" and decoded.message or response
    if status == 401 or base.code == "unauthenticated" then
      base.kind = "auth"
    else
      base.kind = "server"
    end
    return nil, base
  end
  if type(decoded) ~= "table" then
    base.kind = "protocol"
    base.detail = tostring(derr or "not a JSON object")
    return nil, base
  end
  return decoded
end

return M
