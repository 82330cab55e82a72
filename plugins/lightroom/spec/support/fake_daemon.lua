--[[
  fake_daemon.lua - an in-process transport for lrsdk's LrHttp that answers like the
  AutoCull daemon's JSON interface (for unit specs; the e2e run uses the real daemon).
  handlers[Method] = function(body_table, req) -> status, answer_table
]]

local json = require "dkjson"

local M = {}

function M.new(token, handlers)
  local d = { token = token, handlers = handlers or {}, calls = {} }
  d.transport = function(req)
    local method = req.url:match("/autocull%.v1%.AutoCull/(%w+)$")
    local body = json.decode(req.body or "", 1, nil)
    d.calls[#d.calls + 1] = { method = method, body = body, req = req }
    local function answer(status, t)
      return { status = status, body = json.encode(t), headers = { { field = "Content-Type", value = "application/json" } } }
    end
    local ct, tok
    for _, h in ipairs(req.headers) do
      if h.field:lower() == "content-type" then ct = h.value end
      if h.field:lower() == "x-autocull-token" then tok = h.value end
    end
    if tok ~= d.token then
      return answer(401, { code = "unauthenticated", message = "missing or wrong x-autocull-token header: read the token from the daemon's state.json" })
    end
    if ct ~= "application/json" then
      return answer(400, { code = "invalid_argument", message = "Content-Type must be application/json" })
    end
    if type(body) ~= "table" then return answer(400, { code = "invalid_argument", message = "bad JSON" }) end
    local h = d.handlers[method]
    if not h then return answer(501, { code = "unimplemented", message = "no method " .. tostring(method) }) end
    local status, t = h(body, req)
    if type(status) == "string" then return { status = 200, body = status, headers = {} } end
    return answer(status, t)
  end
  function d.methods()
    local out = {}
    for _, c in ipairs(d.calls) do out[#out + 1] = c.method end
    return out
  end
  return d
end

return M
