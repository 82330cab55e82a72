--[[
  Run by tests/test_darktable_host.py in darktable with its GUI (under Xvfb): the module's
  "show AutoCull's rejects" and "back" set darktable's real collect rules, and its settings
  widgets show the preferences.
  Environment: AUTOCULL_DT_PLUGIN, AUTOCULL_DT_OUT, AUTOCULL_DT_DONE.
]]
local dt = require "darktable"
local report = { errors = {} }

local function rules_now()
  local out = {}
  local rules = dt.gui.libs.collect.filter()
  for i = 1, #rules do
    out[#out + 1] = { mode = tostring(rules[i].mode), item = tostring(rules[i].item), data = tostring(rules[i].data) }
  end
  return out
end

local ok, err = pcall(function()
  dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
  local script_data = dofile(os.getenv("AUTOCULL_DT_PLUGIN"))
  local api = script_data.api
  report.module = api.module_installed()
  report.before = rules_now()
  report.shown = api.show_verdict("reject")
  report.rejects = rules_now()
  api.show_verdict("keep")
  report.keeps = rules_now()
  report.back = api.show_previous()
  report.after = rules_now()
end)
if not ok then report.errors[#report.errors + 1] = tostring(err) end

local function encode(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" or t == "number" then return tostring(v) end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  local parts, n = {}, #v
  if n > 0 then
    for i = 1, n do parts[i] = encode(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for k, x in pairs(v) do parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(x) end
  return "{" .. table.concat(parts, ",") .. "}"
end
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(encode(report))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
