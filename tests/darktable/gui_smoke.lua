--[[
  Run by tests/test_darktable_plugin.py inside `darktable --luacmd` under Xvfb.
  The module registers in the lighttable, the "auto-cull selected" function runs
  on the GUI selection (dt.gui.action_images) and shows a background job.
  Environment: AUTOCULL_DT_PLUGIN, AUTOCULL_DT_PHOTO, AUTOCULL_DT_OUT, AUTOCULL_DT_DONE.
]]
local dt = require "darktable"
local report = { errors = {} }

local ok, err = pcall(function()
  dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
  local script_data = dofile(os.getenv("AUTOCULL_DT_PLUGIN"))
  local api = script_data.api
  report.gui = dt.gui ~= nil
  report.view = dt.gui.current_view().id
  report.lib_registered = dt.gui.libs["autocull"] ~= nil and api.module_installed()
  local image = dt.database.import(os.getenv("AUTOCULL_DT_PHOTO"))
  dt.gui.selection({ image })
  report.selected = #dt.gui.action_images
  local r = api.cull_selected()
  report.cull = { ok = r.ok, message = r.message, counts = r.counts }
  report.job_seen = api.last_job() ~= nil
  report.rating = image.rating
  script_data.destroy()
end)
if not ok then report.errors[#report.errors + 1] = tostring(err) end

local json = require "dkjson"
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(json.encode(report))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
