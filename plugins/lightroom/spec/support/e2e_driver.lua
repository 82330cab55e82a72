--[[
  e2e_driver.lua - runs one plug-in menu item under the stand-in SDK against the REAL
  daemon (LrHttp through curl on loopback) and prints what the catalog ends with.

    lua5.1 e2e_driver.lua scenario.json result.json

  scenario = {plugin_dir, state_file, menu = "MenuCull.lua",
              photos = [{path, virtual, missing, rating, pickStatus, label, keywords, props, selected}],
              dialog = {prefKey = value, ...},        -- set in the options dialog before "Cull"
              confirm = ["ok"|"cancel", ...],          -- answers to confirmations
              cancel_after_updates = n,                -- the user presses Cancel in the progress bar
              prefs = {...}}
  scenario.allow_execute = true lets "Start AutoCull" run its command (os.execute)
  result = {photos = [...same order, with rating/pickStatus/label/keywords/props],
            include_on_export = {keyword path = bool}, executed = [command lines],
            dialogs = [{kind, message, info}], http = [{method, status, request, response, error}],
            undo_steps = [...], task_errors = [...]}
]]

local support = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = support .. "/?.lua;" .. package.path

local scenario_path, result_path = arg[1], arg[2]
local f = assert(io.open(scenario_path, "rb"))
local text = f:read("*a")
f:close()

local lrsdk = require "lrsdk"
-- plugin_dir comes from the scenario; dkjson is loaded from the plug-in itself
local boot_json = dofile(support .. "/../../autocull.lrplugin/dkjson.lua")
local scenario = assert(boot_json.decode(text, 1, nil), "bad scenario JSON")
local S = lrsdk.new { plugin_dir = scenario.plugin_dir, real_time = true }
S:install()
local json = require "dkjson"

S.prefs.stateFile = scenario.state_file
S.prefs.pollInterval = 0.3
for k, v in pairs(scenario.prefs or {}) do S.prefs[k] = v end
S.dialogs.answers = scenario.confirm or {}
-- "Start AutoCull" really runs the command only when the scenario says so (a test script)
S.allow_execute = scenario.allow_execute == true
if scenario.dialog then
  S.dialogs.on_modal = function(args)
    for k, v in pairs(scenario.dialog) do args.contents.bind_to_object[k] = v end
  end
end
if scenario.cancel_after_updates then
  S.progress.on_update = function(scope)
    if #scope.updates >= scenario.cancel_after_updates then scope:cancel() end
  end
end

local photos = {}
for i, p in ipairs(scenario.photos or {}) do
  photos[i] = S.catalog:_add_photo(p)
  if p.selected then S.catalog.selected[#S.catalog.selected + 1] = photos[i] end
end

S:run_menu(scenario.menu or "MenuCull.lua")

local out = { photos = {}, dialogs = {}, http = {}, undo_steps = {}, task_errors = {}, include_on_export = {},
              executed = S.tasks.executed }
for i, step in ipairs(S.catalog.undo_steps) do out.undo_steps[i] = { name = step.name, writes = step.writes } end
local function walk(list, prefix)
  for _, k in ipairs(list) do
    local path = prefix and (prefix .. "|" .. k.name) or k.name
    out.include_on_export[path] = k.includeOnExport
    walk(k.children, path)
  end
end
walk(S.catalog.keywords, nil)
for i, p in ipairs(photos) do
  out.photos[i] = {
    path = p.raw.path, virtual = p.raw.isVirtualCopy, rating = p.raw.rating or 0,
    pickStatus = p.raw.pickStatus, label = p.raw.colorNameForLabel, keywords = p:keyword_paths(),
    props = p.props,
  }
end
for _, e in ipairs(S.dialogs.log) do
  out.dialogs[#out.dialogs + 1] = { kind = e.kind, message = e.message, info = e.info }
end
for _, e in ipairs(S.http.log) do
  out.http[#out.http + 1] = {
    method = e.request.url:match("/(%w+)$"), status = e.status, request = e.request.body,
    response = e.response, error = e.error,
  }
end
for _, e in ipairs(S.tasks.errors) do out.task_errors[#out.task_errors + 1] = tostring(e.error) end
local w = assert(io.open(result_path, "wb"))
w:write(json.encode(out, { indent = true }))
w:close()
