--[[
  Run by tests/test_darktable_plugin.py inside `darktable-cli --core --luacmd`
  (no GUI: darktable.gui is nil). Loads the plugin, imports the test photos one
  by one (a folder import does not finish in --core mode), and calls the same
  functions the module's buttons call, against the real daemon.

  Environment:
    AUTOCULL_DT_PLUGIN   path of plugins/darktable/autocull.lua
    AUTOCULL_DT_FILES    text file: one photo path per line (UTF-8)
    AUTOCULL_DT_PRERATED the photo the "photographer" rates before the cull
    AUTOCULL_DT_LATE     a photo imported later with auto-cull on import enabled
    AUTOCULL_DT_NODAEMON an empty folder (no state.json): the "daemon down" case
    AUTOCULL_DT_OUT      JSON report written here
    AUTOCULL_DT_DONE     created when everything is written
  The daemon's own folder comes from AUTOCULL_HOME, as for a user.
]]

local dt = require "darktable"

local report = { steps = {}, errors = {} }
local out_path = os.getenv("AUTOCULL_DT_OUT")
local done_path = os.getenv("AUTOCULL_DT_DONE")

local function finish()
  local ok, json = pcall(require, "dkjson")
  local f = io.open(out_path, "w")
  if ok then
    f:write(json.encode(report))
  else
    f:write('{"errors": ["no JSON module"]}')
  end
  f:close()
  io.open(done_path, "w"):close()
end

-- A trace line per step, so a hang shows where it stopped.
local function trace(msg)
  local f = io.open(out_path .. ".trace", "a")
  if f then f:write(os.date("!%H:%M:%S "), msg, "\n"); f:close() end
end

local function step(name, fn)
  trace("step " .. name)
  local ok, result = pcall(fn)
  trace("step " .. name .. (ok and " ok" or (" failed: " .. tostring(result))))
  if ok then
    report.steps[name] = result
  else
    report.errors[#report.errors + 1] = name .. ": " .. tostring(result)
  end
end

local function snapshot(image)
  local tags = {}
  for _, t in ipairs(dt.tags.get_tags(image)) do tags[#tags + 1] = t.name end
  return {
    path = image.path .. "/" .. image.filename, id = image.id, rating = image.rating,
    red = image.red, yellow = image.yellow, green = image.green, blue = image.blue, purple = image.purple,
    tags = tags,
  }
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do if line ~= "" then out[#out + 1] = line end end
  return out
end

local function strip(result)
  -- results hold darktable objects in no field, but keep the report small
  if type(result) ~= "table" then return result end
  return { ok = result.ok, message = result.message, counts = result.counts, sent = result.sent,
           cancelled = result.cancelled, decisions = result.decisions and #result.decisions or nil }
end

-- darktable-cli runs this script beside its own export of the input image and exits
-- when that is done, even while this script sleeps (dt.control.sleep lets it run).
-- Hold its export until the test is over.
local test_over = false
dt.register_event("autocull_test", "intermediate-export-image", function()
  while not test_over do dt.control.sleep(100) end
end)

local main_ok, main_err = pcall(function()
  -- Auto-cull on import off while the test photos arrive (darktable-cli imports its own input too).
  dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
  trace("loading plugin")
  local script_data = dofile(os.getenv("AUTOCULL_DT_PLUGIN"))
  local api = script_data.api
  trace("plugin loaded")
  report.api_version = dt.configuration.api_version_string
  report.lua = _VERSION
  report.gui = dt.gui ~= nil
  report.has_destroy = type(script_data.destroy) == "function"

  local images = {}
  for _, path in ipairs(lines(os.getenv("AUTOCULL_DT_FILES"))) do
    trace("import " .. path)
    local image = dt.database.import(path)
    if not image then error("darktable did not import " .. path) end
    images[#images + 1] = image
  end
  -- A darktable duplicate (second version of the first photo) the photographer made.
  local duplicate = images[1]:duplicate()
  report.imported = {}
  for _, image in ipairs(images) do report.imported[#report.imported + 1] = snapshot(image) end

  -- The photographer rates one photo before AutoCull sees it.
  local prerated_path = os.getenv("AUTOCULL_DT_PRERATED")
  local prerated = nil
  for _, image in ipairs(images) do
    if image.path .. "/" .. image.filename == prerated_path then prerated = image end
  end
  if not prerated then error("pre-rated photo not among the imports: " .. tostring(prerated_path)) end
  prerated.rating = 3
  prerated.blue = true
  dt.tags.attach(dt.tags.create("client|Smith wedding"), prerated)
  report.prerated_before = snapshot(prerated)

  -- Daemon down: a folder without state.json. Nothing may change.
  step("daemon_down", function()
    dt.preferences.write("autocull", "home", "string", os.getenv("AUTOCULL_DT_NODAEMON"))
    local r = strip(api.cull_selected(images))
    dt.preferences.write("autocull", "home", "string", "")
    r.after = {}
    for _, image in ipairs(images) do r.after[#r.after + 1] = snapshot(image) end
    return r
  end)

  local with_duplicate = { duplicate }
  for _, image in ipairs(images) do with_duplicate[#with_duplicate + 1] = image end
  step("cull", function() return strip(api.cull_selected(with_duplicate)) end)
  step("cull_again", function() return strip(api.cull_selected(images)) end)
  step("teach", function() return strip(api.teach(images)) end)
  step("status", function() return strip(api.status()) end)
  step("apply_background", function() return strip(api.apply_background()) end)

  report.duplicate = snapshot(duplicate)
  report.duplicate.duplicate_index = duplicate.duplicate_index
  report.final = {}
  for _, image in ipairs(images) do report.final[#report.final + 1] = snapshot(image) end

  -- Auto-cull on import: post-import-image only queues; the idle flush sends one job.
  step("import_auto_cull", function()
    dt.preferences.write("autocull", "import_idle_seconds", "integer", 1)
    dt.preferences.write("autocull", "auto_tag_imports", "bool", true)
    local late = dt.database.import(os.getenv("AUTOCULL_DT_LATE"))
    local r = { queued_seen = 0 }
    for _ = 1, 600 do   -- up to 60 s
      dt.control.sleep(100)
      r.queued_seen = math.max(r.queued_seen, api.queue_length())
      if r.queued_seen > 0 and api.queue_length() == 0 and not api.controller.busy then break end
    end
    r.queue_left = api.queue_length()
    r.last_status = api.controller.last_status
    r.image = snapshot(late)
    dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
    return r
  end)

  step("destroy", function()
    script_data.destroy()
    return { ok = true }
  end)
end)

if not main_ok then report.errors[#report.errors + 1] = "main: " .. tostring(main_err) end
finish()
test_over = true
