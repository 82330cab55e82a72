--[[
  AutoCull for darktable
  copyright (c) the AutoCull authors

  This program is free software: you can redistribute it and/or modify
  it under the terms of the GNU General Public License as published by
  the Free Software Foundation, either version 3 of the License, or
  (at your option) any later version.
]]

--[[
  AutoCull - cull a shoot with the local AutoCull daemon: stars, rejects,
  colour labels and AutoCull|... tags written into darktable's library.

  ADDITIONAL SOFTWARE NEEDED FOR THIS SCRIPT
    * the AutoCull daemon, running on this machine (`autocull serve`)
    * curl (darktable's Lua cannot speak HTTP itself)

  USAGE
    * copy autocull.lua into darktable's lua/contrib/ folder and the lib/autocull/
      folder into lua/lib/ (e.g. ~/.config/darktable/lua/contrib/autocull.lua and
      ~/.config/darktable/lua/lib/autocull/*.lua), then start it in script_manager
      or add `require "contrib/autocull"` to luarc
    * lighttable, AutoCull module: "auto-cull selected", "teach from my
      ratings", "apply background results"; each has a shortcut
    * new imports are culled automatically (preference)

  The functions the buttons call are in script_data.api, so a script run by
  `darktable-cli --core --luacmd` (no GUI) can call them too.
]]

local dt = require "darktable"

-- The helpers are installed in <lua folder>/lib/autocull/ (script_manager does not list
-- lib/), required by their full names as lua-scripts does ("lib/dtutils.system"):
-- darktable's package.path already has <config>/lua/?.lua, so nothing is added to it.
local compat = require "lib/autocull/compat"
local du = compat.dtutils(dt)

local MODULE = "autocull"
du.check_min_api_version("9.0.0", MODULE)

local gettext = (dt.gettext and dt.gettext.gettext) or function(s) return s end
local function _(msgid)
  return gettext(msgid)
end

local json = require "lib/autocull/dkjson"
local decision_map = require "lib/autocull/decision_map"
local system = require "lib/autocull/system"
local ledger_mod = require "lib/autocull/ledger"
local controller = require "lib/autocull/controller"
local collections = require "lib/autocull/collections"
local settings_panel = require "lib/autocull/settings_panel"
local daemon_help = require "lib/autocull/daemon_help"

-- return data structure for script_manager
local script_data = {}
script_data.metadata = {
  name = "AutoCull",
  purpose = _("cull photos with the local AutoCull daemon: stars, rejects, colour labels and tags"),
  author = "AutoCull",
  help = "https://github.com/autocull/autocull/tree/main/plugins/darktable",
}
script_data.destroy = nil
script_data.destroy_method = nil
script_data.restart = nil
script_data.show = nil

-- ------------------------------------------------------------------ state
local ac = {
  gui = dt.gui ~= nil,
  events = {},            -- {name, event} pairs we registered, for destroy()
  widgets = {},
  module_installed = false,
  cancel_requested = false,
  flusher_running = false,
}

local sys = system.new(dt.configuration.running_os)
local SEP = sys.sep  -- the host's own path separator

-- ------------------------------------------------------------ preferences
-- name -> {type, default, label, tooltip[, min, max]}
local PREFS = {
  { "auto_tag_imports", "bool", true, _("AutoCull: auto-cull new imports"),
    _("new imports are sent to the daemon as one job and get stars, rejects, labels and tags") },
  { "respect_user_ratings", "bool", true, _("AutoCull: leave images I rated alone"),
    _("images with your own stars, reject or colour label are never changed (recommended)") },
  { "write_tags", "bool", true, _("AutoCull: attach AutoCull|... tags"),
    _("attach the daemon's keywords (AutoCull|Reject|Blurry, ...) as darktable tags") },
  { "write_notes", "bool", true, _("AutoCull: write the reasons into the image's notes"),
    _("one line 'AutoCull: reject - ...' in the notes metadata (image information, metadata editor); your own notes stay") },
  { "import_idle_seconds", "integer", 3, _("AutoCull: seconds of quiet before new imports are culled"),
    _("imports are collected and sent as one job when the import ends or after this many quiet seconds"), 1, 60 },
  { "preset", "string", "", _("AutoCull: policy preset"),
    _("empty: the daemon's active policy; or a preset name such as strict or gentle") },
  { "profile", "string", "", _("AutoCull: taste profile"),
    _("whose taste teach trains and culls use (e.g. wedding, landscape): each profile has its own ratings and model; empty: the daemon's active profile") },
  { "curl", "string", "curl", _("AutoCull: curl program"),
    _("curl is used to talk to the daemon; give a full path if it is not on PATH") },
  { "program", "string", "autocull", _("AutoCull: autocull program"),
    _("the autocull command \"start daemon\" runs (`autocull service start`); give a full path if it is not on PATH") },
  { "home", "string", "", _("AutoCull: daemon folder"),
    _("where the daemon keeps state.json; empty: $AUTOCULL_HOME or the platform default") },
}
local PREF_DEFAULT = {}
for _, p in ipairs(PREFS) do PREF_DEFAULT[p[1]] = p[3] end

--- A preference, or its default when never set. (An unset key reads back as
-- false/0 in its own type, but as "" when read as a string.)
local function pref(name, kind)
  if PREF_DEFAULT[name] ~= nil and dt.preferences.read(MODULE, name, "string") == "" then
    return PREF_DEFAULT[name]
  end
  return dt.preferences.read(MODULE, name, kind)
end

-- dt.preferences.register hangs in darktable-cli --core (4.2.1): the preference
-- dialog only exists with a GUI, and pref() supplies the defaults without it.
if dt.gui then
  for _, p in ipairs(PREFS) do
    if p[2] == "integer" then
      dt.preferences.register(MODULE, p[1], p[2], p[4], p[5], p[3], p[6], p[7])
    else
      dt.preferences.register(MODULE, p[1], p[2], p[4], p[5], p[3])
    end
  end
end

--- darktable's own initial rating on import (1 star unless changed): images that
-- still carry it count as unrated.
local function initial_rating()
  local text = sys.read_file(dt.configuration.config_dir .. SEP .. "darktablerc")
  local v = text and tonumber(text:match("ui_last/import_initial_rating=(%-?%d+)"))
  if v and v >= 0 and v <= 5 then return v end
  return 1
end
local INITIAL_RATING = initial_rating()

local function settings()
  return {
    home = pref("home", "string"),
    curl = pref("curl", "string") ~= "" and pref("curl", "string") or "curl",
    preset = pref("preset", "string"),
    profile = pref("profile", "string"),
    respect_user_ratings = pref("respect_user_ratings", "bool"),
    write_tags = pref("write_tags", "bool"),
    write_notes = pref("write_notes", "bool"),
    unrated_rating = INITIAL_RATING,
    poll_ms = 500,
    timeout = 60,
    client_id = "darktable:" .. tostring(dt.configuration.config_dir),  -- the daemon keeps a cursor per library
    -- the root of the verdict tags as last attached ("AutoCull" until a decision says otherwise)
    tag_root = dt.preferences.read(MODULE, "tag_root", "string"),
    tag_root_set = function(root) dt.preferences.write(MODULE, "tag_root", "string", root) end,
    cursor_get = function() return dt.preferences.read(MODULE, "changes_cursor", "string") end,
    cursor_set = function(c) dt.preferences.write(MODULE, "changes_cursor", "string", c) end,
  }
end

-- ------------------------------------------------------------- progress
local function progress(title)
  ac.cancel_requested = false
  local job = nil
  if ac.gui then
    job = dt.gui.create_job(title, true, function(j)
      ac.cancel_requested = true
    end)
  end
  local handle = {}
  function handle.update(fraction, text)
    if job and job.valid then job.percent = math.max(0, math.min(1, fraction)) end
    if ac.widgets.status and text then ac.widgets.status.label = title .. ": " .. text end
  end
  function handle.cancelled() return ac.cancel_requested end
  function handle.finish()
    if job and job.valid then job.valid = false end
  end
  ac.current_job = job
  return handle
end

local ctl = controller.new({
  dt = dt,
  sys = sys,
  json = { encode = function(v) return json.encode(v) end,
           decode = function(s)
             local v, _, err = json.decode(s, 1, nil)
             if err then error(err) end
             return v
           end },
  map = decision_map,
  settings = settings,
  notify = function(m)
    dt.print(m)
    if ac.widgets.status then ac.widgets.status.label = m end
  end,
  log = function(m) dt.print_log(m) end,
  progress = progress,
  sleep = function(ms) dt.control.sleep(ms) end,
  ledger = ledger_mod.open(dt.configuration.config_dir .. SEP .. "autocull-ledger.json", sys,
    { encode = function(v) return json.encode(v) end, decode = function(s) return json.decode(s) end }),
})

-- ---------------------------------------------------- what buttons call
local api = {}

local function action_images()
  if not ac.gui then return {} end
  local out = {}
  for _, image in ipairs(dt.gui.action_images) do out[#out + 1] = image end
  return out
end

--- Auto-cull `images` (default: dt.gui.action_images).
function api.cull_selected(images)
  return ctl:cull(images or action_images())
end

--- Send the ratings of `images` (default: dt.gui.action_images) as feedback.
function api.teach(images)
  return ctl:teach(images or action_images())
end

function api.apply_background()
  return ctl:apply_background()
end

function api.status()
  local r = ctl:status()
  if ac.widgets.status then ac.widgets.status.label = r.message end
  return r
end

--- Ask the running cull to stop (the job's cancel button does the same).
function api.cancel()
  ac.cancel_requested = true
end

--- The darktable background job of the last cull (nil without a GUI).
function api.last_job() return ac.current_job end
function api.module_installed() return ac.module_installed end

local NO_TAGS = _("AutoCull finds its keeps, reviews and rejects by its tags: turn on \"attach AutoCull tags\" " ..
  "(and cull again) to use these buttons")

--- Show AutoCull's keeps, photos to review or rejects ("keep"|"review"|"reject") in the lighttable.
-- Without AutoCull's tags (the preference is off) there is nothing to filter on: says so instead.
function api.show_verdict(verdict)
  if not (ac.gui and dt.gui.libs.collect) then return false end
  if not pref("write_tags", "bool") then
    ctl:say(NO_TAGS)
    return false
  end
  ac.view = ac.view or collections.new(dt.gui.libs.collect)
  return ac.view:show(verdict, dt.preferences.read(MODULE, "tag_root", "string"))
end

--- The keeps/review/rejects buttons follow the "attach AutoCull tags" preference.
local function update_show_buttons()
  local on = pref("write_tags", "bool") and true or false
  for _, b in ipairs(ac.show_buttons or {}) do
    b.widget.sensitive = on
    b.widget.tooltip = on and b.tooltip or NO_TAGS
  end
end

--- Back to the collection the photographer had before show_verdict.
function api.show_previous()
  return ac.view ~= nil and ac.view:back()
end

--- Run `autocull service start` (the "start daemon" button), then check the daemon.
function api.start_daemon()
  local program = pref("program", "string")
  local ok, message = daemon_help.start(sys, program ~= "" and program or "autocull")
  ctl:say(message)
  if not ok then return { ok = false, message = message } end
  local r
  for _ = 1, 10 do        -- the service needs a moment before it writes state.json
    dt.control.sleep(500)
    r = api.status()
    if r.ok then break end
  end
  if r and not r.ok then ctl:say(r.message) end
  return r
end

--- Write what the photographer changed in the module's settings, or show what changed in the preferences.
function api.sync_settings()
  if ac.panel then ac.panel.sync() end
  update_show_buttons()
end

function api.queue_import(image) ctl:queue_import(image) end
function api.flush_imports() return ctl:flush_imports() end
function api.queue_length() return #ctl.queue end
api.controller = ctl

-- ------------------------------------------------------- import events
local function idle_flusher()
  -- runs in its own Lua thread (dt.control.dispatch); sleeping releases darktable's Lua lock
  local idle = (pref("import_idle_seconds", "integer") or 3)
  if idle < 1 then idle = 3 end
  while #ctl.queue > 0 and not (dt.control and dt.control.ending) do
    dt.control.sleep(500)
    if ctl.last_queued and os.time() - ctl.last_queued >= idle and not ctl.busy then
      ctl:flush_imports()
    end
  end
  ac.flusher_running = false
end

local function on_import_image(_, image)
  if not pref("auto_tag_imports", "bool") then return end
  ctl:queue_import(image)
  if not ac.flusher_running and dt.control.dispatch then
    ac.flusher_running = true
    dt.control.dispatch(idle_flusher)
  end
end

local function on_import_film(_, film)
  if not pref("auto_tag_imports", "bool") then return end
  if #ctl.queue > 0 and not ctl.busy then ctl:flush_imports() end
end

local function register_event(name, event, fn, description)
  if description then
    dt.register_event(name, event, fn, description)
  else
    dt.register_event(name, event, fn)
  end
  ac.events[#ac.events + 1] = { name, event }
end

-- ---------------------------------------------------------------- GUI
local function build_gui()
  ac.widgets.status = dt.new_widget("label") { label = _("AutoCull: idle"), ellipsize = "middle" }
  local function button(label, tooltip, fn)
    -- settings typed in the module count before the action reads them
    return dt.new_widget("button") { label = label, tooltip = tooltip,
      clicked_callback = function() api.sync_settings(); return fn() end }
  end
  local function check(label, tooltip)
    return dt.new_widget("check_button") { label = label, tooltip = tooltip,
      clicked_callback = function() api.sync_settings() end }
  end
  ac.widgets.profile = dt.new_widget("entry") { tooltip = _("whose taste teach and culls use (e.g. wedding); " ..
    "empty: the daemon's active profile"), placeholder = _("taste profile (empty: the daemon's)"), text = "" }
  ac.widgets.respect = check(_("leave photos I rated alone"),
    _("photos with your own stars, reject or colour label are never changed (recommended)"))
  ac.widgets.imports = check(_("auto-cull new imports"),
    _("new imports are sent to the daemon as one job"))
  ac.widgets.notes = check(_("reasons in the image's notes"),
    _("one 'AutoCull: ...' line in the notes; your own notes stay"))
  ac.widgets.tags = check(_("attach AutoCull tags"),
    _("attach the daemon's keywords (AutoCull|Reject|Blurry, ...) as darktable tags; " ..
      "the keeps / review / rejects buttons find photos by them"))
  ac.panel = settings_panel.new(pref, function(name, kind, value) dt.preferences.write(MODULE, name, kind, value) end, {
    { "profile", "string", ac.widgets.profile },
    { "respect_user_ratings", "bool", ac.widgets.respect },
    { "auto_tag_imports", "bool", ac.widgets.imports },
    { "write_notes", "bool", ac.widgets.notes },
    { "write_tags", "bool", ac.widgets.tags },
  })
  local function show_button(label, tooltip, verdict)
    local b = button(label, tooltip, function() return api.show_verdict(verdict) end)
    ac.show_buttons = ac.show_buttons or {}
    ac.show_buttons[#ac.show_buttons + 1] = { widget = b, tooltip = tooltip }
    return b
  end
  local show = dt.new_widget("box") {
    orientation = "horizontal",
    show_button(_("keeps"), _("show the photos AutoCull kept, within this collection"), "keep"),
    show_button(_("review"), _("show the photos AutoCull left for you to review, within this collection"), "review"),
    show_button(_("rejects"), _("show the photos AutoCull rejected, within this collection"), "reject"),
    button(_("back"), _("back to the collection you had before"), function() return api.show_previous() end),
  }
  ac.widgets.box = dt.new_widget("box") {
    orientation = "vertical",
    button(_("auto-cull selected"), _("send the selected images to AutoCull and apply its decisions"),
      function() api.cull_selected() end),
    button(_("teach from my ratings"), _("send your stars, rejects and labels of the selected images to AutoCull"),
      function() api.teach() end),
    button(_("apply background results"), _("apply decisions AutoCull made for watched folders"),
      function() api.apply_background() end),
    button(_("check daemon"), _("show whether the AutoCull daemon is running"),
      function() api.status() end),
    ac.widgets.status,
    dt.new_widget("section_label") { label = _("show AutoCull's") },
    show,
    button(_("start daemon"), _("run `autocull service start` (set the program in preferences > lua options)"),
      function() return api.start_daemon() end),
    dt.new_widget("section_label") { label = _("settings") },
    ac.widgets.profile,
    ac.widgets.respect,
    ac.widgets.imports,
    ac.widgets.notes,
    ac.widgets.tags,
  }
  update_show_buttons()
end

local function install_module()
  if ac.module_installed then return end
  dt.register_lib(MODULE, _("AutoCull"), true, false,
    { [dt.gui.views.lighttable] = { "DT_UI_CONTAINER_PANEL_RIGHT_CENTER", 100 } },
    ac.widgets.box, nil, nil)
  ac.module_installed = true
end

local function register_shortcuts()
  register_event(MODULE .. "_cull", "shortcut", function() api.cull_selected() end,
    _("AutoCull: auto-cull selected images"))
  register_event(MODULE .. "_teach", "shortcut", function() api.teach() end,
    _("AutoCull: teach from my ratings"))
  register_event(MODULE .. "_background", "shortcut", function() api.apply_background() end,
    _("AutoCull: apply background results"))
end

register_event(MODULE, "post-import-image", on_import_image)
register_event(MODULE, "post-import-film", on_import_film)

if ac.gui then
  build_gui()
  register_shortcuts()
  if dt.gui.current_view().id == "lighttable" then
    install_module()
  else
    register_event(MODULE .. "_view", "view-changed", function(_, _, new_view)
      if new_view.id == "lighttable" then install_module() end
    end)
  end
end

-- --------------------------------------------------------- destroy/restart
local function destroy()
  if ac.cancel_requested == false and ctl.busy then ac.cancel_requested = true end
  for _, e in ipairs(ac.events) do
    pcall(dt.destroy_event, e[1], e[2])
  end
  ac.events = {}
  if ac.gui and ac.module_installed then dt.gui.libs[MODULE].visible = false end
end

local function restart()
  register_event(MODULE, "post-import-image", on_import_image)
  register_event(MODULE, "post-import-film", on_import_film)
  if ac.gui then
    register_shortcuts()
    if ac.module_installed then dt.gui.libs[MODULE].visible = true end
  end
end

local function show()
  if ac.gui and ac.module_installed then dt.gui.libs[MODULE].visible = true end
  api.sync_settings()
end

script_data.destroy = destroy
script_data.destroy_method = ac.gui and "hide" or nil
script_data.restart = restart
script_data.show = show
script_data.api = api

return script_data
