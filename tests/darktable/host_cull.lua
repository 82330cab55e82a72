--[[
  Run by tests/test_darktable_host.py inside `darktable-cli --core --luacmd`.
  Loads the plugin, imports two copies of a shoot, and culls:
    quiet/  with tags and notes off: only stars, rejects and colour labels are written,
            so nothing but AutoCull's sidecar sync can bring the labels into the sidecars;
    notes/  with reasons in notes on; one photo carries the photographer's own note,
            one is rated by the photographer beforehand (left alone, counted in the summary).
  Then culls notes/ again: AutoCull's line must be replaced, never added twice.

  Environment: AUTOCULL_DT_PLUGIN, AUTOCULL_DT_QUIET / AUTOCULL_DT_NOTES (files: one path per line),
  AUTOCULL_DT_NOTED, AUTOCULL_DT_PRERATED, AUTOCULL_DT_OUT, AUTOCULL_DT_DONE.
]]

local dt = require "darktable"

local report = { ok = false, steps = {} }
local test_over = false
dt.register_event("autocull_host_test", "intermediate-export-image", function()
  while not test_over do dt.control.sleep(100) end
end)

local function lines(path)
  local out = {}
  for line in io.lines(path) do if line ~= "" then out[#out + 1] = line end end
  return out
end

local function import_all(list)
  local images = {}
  for _, path in ipairs(lines(list)) do
    local image = dt.database.import(path)
    if not image then error("darktable did not import " .. path) end
    images[#images + 1] = image
  end
  return images
end

local function find(images, path)
  for _, image in ipairs(images) do
    if image.path .. "/" .. image.filename == path then return image end
  end
  error("not imported: " .. tostring(path))
end

local function strip(r)
  return { ok = r.ok, message = r.message, counts = r.counts, cancelled = r.cancelled }
end

local main_ok, main_err = pcall(function()
  dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
  local script_data = dofile(os.getenv("AUTOCULL_DT_PLUGIN"))
  local api = script_data.api

  local quiet = import_all(os.getenv("AUTOCULL_DT_QUIET"))
  local noted = import_all(os.getenv("AUTOCULL_DT_NOTES"))

  local mine = find(noted, os.getenv("AUTOCULL_DT_NOTED"))
  mine.notes = "client: Smith, print 20x30"
  local rated = find(noted, os.getenv("AUTOCULL_DT_PRERATED"))
  rated.rating = 4
  rated.notes = "my favourite"

  dt.preferences.write("autocull", "write_tags", "bool", false)
  dt.preferences.write("autocull", "write_notes", "bool", false)
  report.steps.quiet = strip(api.cull_selected(quiet))

  dt.preferences.write("autocull", "write_notes", "bool", true)
  report.steps.notes = strip(api.cull_selected(noted))
  report.steps.notes_again = strip(api.cull_selected(noted))
  report.notes = {}
  for _, image in ipairs(noted) do report.notes[image.path .. "/" .. image.filename] = image.notes end
  report.ok = true
end)

if not main_ok then report.error = tostring(main_err) end
-- JSON by hand: the test must not depend on where the plugin keeps its JSON module
local function encode(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" or t == "number" then return tostring(v) end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(x) end
  return "{" .. table.concat(parts, ",") .. "}"
end
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(encode(report))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
test_over = true
