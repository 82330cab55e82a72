--[[
  Run by tests/test_darktable_plugin.py inside `darktable --luacmd` under Xvfb.
  The module registers in the lighttable, the "auto-cull selected" function runs
  on the GUI selection (dt.gui.action_images) and shows a background job.
  Environment: AUTOCULL_DT_PLUGIN (the installed <configdir>/lua/contrib/autocull.lua), AUTOCULL_DT_PHOTO, AUTOCULL_DT_FOLDER (two new photos), AUTOCULL_DT_OUT,
  AUTOCULL_DT_DONE, AUTOCULL_DT_DEADLINE (epoch seconds: stop waiting and report before the test ends darktable).

  The report is written after every step, with the time each step was reached, and the JSON encoder is
  loaded before anything can fail: a slow or failing run still says how far it got and why.
]]
local dt = require "darktable"
local report = { errors = {}, steps = {} }
local json = require "lib/autocull/dkjson"  -- the plugin is installed in the config dir's lua/ folder
local started = os.time()
local deadline = tonumber(os.getenv("AUTOCULL_DT_DEADLINE") or "") or (started + 100)

local function save(step)
  report.steps[#report.steps + 1] = { step = step, at = os.time() - started }
  local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
  f:write(json.encode(report))
  f:close()
end

save("script started")
local ok, err = pcall(function()
  dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
  local script_data = dofile(os.getenv("AUTOCULL_DT_PLUGIN"))
  local api = script_data.api
  report.gui = dt.gui ~= nil
  report.view = dt.gui.current_view().id
  report.lib_registered = dt.gui.libs["autocull"] ~= nil and api.module_installed()
  save("plugin loaded")
  local image = dt.database.import(os.getenv("AUTOCULL_DT_PHOTO"))
  dt.gui.selection({ image })
  report.selected = #dt.gui.action_images
  local r = api.cull_selected()
  report.cull = { ok = r.ok, message = r.message, counts = r.counts }
  report.job_seen = api.last_job() ~= nil
  report.rating = image.rating
  save("selection culled")

  -- A folder import with auto-cull on: post-import-image queues, post-import-film sends one job.
  dt.preferences.write("autocull", "auto_tag_imports", "bool", true)
  local calls_before = api.controller.jobs_started or 0
  dt.database.import(os.getenv("AUTOCULL_DT_FOLDER"))
  local seen = 0
  for _ = 1, 600 do   -- up to 60 s, and never past the deadline
    if os.time() >= deadline then report.timed_out = "waiting for the folder import's job"; break end
    dt.control.sleep(100)
    seen = math.max(seen, api.queue_length())
    if #dt.database >= 3 and api.queue_length() == 0 and not api.controller.busy
        and (api.controller.jobs_started or 0) > calls_before then break end
  end
  report.folder = { queued_seen = seen, jobs = (api.controller.jobs_started or 0) - calls_before,
                    status = api.controller.last_status, job_size = api.controller.last_job_size, ratings = {} }
  for _, img in ipairs(dt.database) do
    if img.path == os.getenv("AUTOCULL_DT_FOLDER") then
      report.folder.ratings[img.filename] = img.rating
    end
  end
  save("folder import culled")
  script_data.destroy()
end)
if not ok then report.errors[#report.errors + 1] = tostring(err) end
save("done")
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
