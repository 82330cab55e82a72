--[[
  Run by tests/test_darktable_host.py in darktable with its GUI (under Xvfb): the module's
  "show AutoCull's rejects" and "back" set darktable's real collect rules, and its settings
  widgets show the preferences. The photos in AUTOCULL_DT_PHOTOS (one per line) are imported and
  given decisions through the plugin's own writer (the controller's apply_decisions, as after a
  cull): the first two rejected, the rest kept; then darktable's collection (darktable.collection)
  after "rejects" must be exactly the rejected photos, and after "keeps" exactly the kept ones.
  Last, with "attach AutoCull tags" off the buttons are greyed out.
  Environment: AUTOCULL_DT_PLUGIN, AUTOCULL_DT_PHOTOS, AUTOCULL_DT_OUT, AUTOCULL_DT_DONE.
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

local function collection_now()
  local out = {}
  for i = 1, #dt.collection do
    local image = dt.collection[i]
    out[#out + 1] = image.path .. "/" .. image.filename
  end
  table.sort(out)
  return out
end

local ok, err = pcall(function()
  dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
  dt.preferences.write("autocull", "write_tags", "bool", true)
  local script_data = dofile(os.getenv("AUTOCULL_DT_PLUGIN"))
  local api = script_data.api
  report.module = api.module_installed()

  local decisions, by_path, folder = {}, {}, nil
  report.rejected, report.kept = {}, {}
  for path in io.lines(os.getenv("AUTOCULL_DT_PHOTOS")) do
    local image = dt.database.import(path)
    if not image then error("darktable did not import " .. path) end
    folder = image.path
    local reject = #decisions < 2
    decisions[#decisions + 1] = {
      path = path, verdict = reject and "VERDICT_REJECT" or "VERDICT_KEEP",
      pick = reject and "PICK_REJECTED" or "PICK_PICKED", stars = reject and 0 or 4,
      colorLabel = reject and "COLOR_LABEL_RED" or "COLOR_LABEL_NONE",
      keywords = reject and { "AutoCull|Reject", "AutoCull|Reject|Blurry" } or { "AutoCull|Keep" }, reasons = {},
    }
    by_path[path] = image
    table.insert(reject and report.rejected or report.kept, path)
  end
  table.sort(report.rejected)
  table.sort(report.kept)
  report.counts = api.controller:apply_decisions(decisions, by_path)

  -- the photographer looks at the folder
  local collect = dt.gui.libs.collect
  local rule = collect.new_rule()
  rule.mode = "DT_LIB_COLLECT_MODE_AND"
  rule.item = "DT_COLLECTION_PROP_FOLDERS"
  rule.data = folder
  collect.filter({ rule })
  report.before = rules_now()
  report.before_images = collection_now()
  report.shown = api.show_verdict("reject")
  report.rejects = rules_now()
  report.rejects_images = collection_now()
  api.show_verdict("keep")
  report.keeps = rules_now()
  report.keeps_images = collection_now()
  report.back = api.show_previous()
  report.after = rules_now()
  report.after_images = collection_now()

  dt.preferences.write("autocull", "write_tags", "bool", false)   -- turned off in lua options
  api.sync_settings()
  report.off_shown = api.show_verdict("reject")
  report.off_rules = rules_now()
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
