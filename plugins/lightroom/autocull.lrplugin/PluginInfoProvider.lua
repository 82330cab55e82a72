--[[
  PluginInfoProvider.lua - the AutoCull section of File > Plug-in Manager:
  daemon status, token file location, the taste profile, the defaults of the cull
  dialog, and the automatic application of background results.
]]

local LrDialogs = import "LrDialogs"
local LrTasks = import "LrTasks"
local LrView = import "LrView"

local BackgroundPoller = require "BackgroundPoller"
local Collections = require "Collections"
local CullOptionsDialog = require "CullOptionsDialog"
local DaemonState = require "DaemonState"
local Messages = require "Messages"
local Prefs = require "Prefs"
local StatusTask = require "StatusTask"

local KEYS = { "preset", "writePicks", "writeRatings", "writeLabels", "writeKeywords",
               "respectUserRatings", "stateFile", "autoApply", "pollSeconds", "profile", "autocullCommand" }

local function refresh_status(props)
  props.status = LOC "$$$/AutoCull/Manager/Checking=Checking the daemon..."
  LrTasks.startAsyncTask(function()
    -- check the token file being edited, without touching the saved preferences
    local status, client = StatusTask.fetch({ stateFile = props.stateFile, httpTimeout = 10 })
    if status then
      props.status = StatusTask.one_line(status, client)
      local presets = client:call("ListPresets", nil)
      if presets then
        local items = CullOptionsDialog.preset_items(presets.presets)
        -- a preset the daemon no longer has falls back to its active policy, as in the cull
        -- dialog (the popup would otherwise show blank)
        local known = false
        for _, item in ipairs(items) do if item.value == props.preset then known = true end end
        if not known then props.preset = "" end
        props.presetItems = items
      end
    else
      local title, info = Messages.error_text(client)
      props.status = title .. ". " .. info
    end
  end, "AutoCull plug-in manager status")
end

local function startDialog(props)
  local prefs = Prefs.get()
  for _, key in ipairs(KEYS) do props[key] = prefs[key] end
  props.defaultStateFile = DaemonState.default_path()
  -- until the daemon answers, the saved preset is an item of its own so the popup shows it
  -- (with the daemon down it would otherwise show blank)
  local saved = (type(props.preset) == "string" and props.preset ~= "") and { { name = props.preset } } or {}
  props.presetItems = CullOptionsDialog.preset_items(saved)
  props.collectionsStatus = ""
  refresh_status(props)
end

local function endDialog(props)
  local prefs = Prefs.get()
  for _, key in ipairs(KEYS) do prefs[key] = props[key] end
  local seconds = tonumber(prefs.pollSeconds) or Prefs.DEFAULTS.pollSeconds
  prefs.pollSeconds = math.max(10, seconds)
  prefs.profile = Prefs.profile(prefs) or ""  -- stored trimmed; blank = the daemon's own
  if type(prefs.autocullCommand) ~= "string" or prefs.autocullCommand:match("^%s*$") then
    prefs.autocullCommand = Prefs.DEFAULTS.autocullCommand
  end
  if prefs.autoApply then BackgroundPoller.ensure() else BackgroundPoller.stop() end
end

local function sectionsForTopOfDialog(f, props)
  return {
    {
      title = LOC "$$$/AutoCull/Manager/Title=AutoCull",
      bind_to_object = props,
      f:row {
        f:static_text { title = LOC "$$$/AutoCull/Manager/Daemon=Daemon:", width = LrView.share "autocull_label" },
        f:static_text { title = LrView.bind "status", fill_horizontal = 1, height_in_lines = 3 },
        f:push_button { title = LOC "$$$/AutoCull/Manager/Check=Check again",
                        action = function() refresh_status(props) end },
      },
      f:row {
        f:static_text { title = LOC "$$$/AutoCull/Manager/Token=Token file:", width = LrView.share "autocull_label" },
        f:edit_field { value = LrView.bind "stateFile", fill_horizontal = 1, immediate = true },
        f:push_button {
          title = LOC "$$$/AutoCull/Manager/Choose=Choose...",
          action = function()
            local chosen = LrDialogs.runOpenPanel {
              title = LOC "$$$/AutoCull/Manager/ChooseTitle=The AutoCull daemon's state.json",
              canChooseFiles = true, canChooseDirectories = false, allowsMultipleSelection = false,
            }
            if chosen and chosen[1] then props.stateFile = chosen[1] end
          end,
        },
      },
      f:row {
        f:static_text { title = "", width = LrView.share "autocull_label" },
        f:static_text {
          title = LrView.bind {
            key = "defaultStateFile",
            transform = function(value)
              return LOC("$$$/AutoCull/Manager/TokenHint=Leave empty to use the daemon's own: ^1", tostring(value))
            end,
          },
          fill_horizontal = 1,
        },
      },
      f:row {
        f:static_text { title = LOC "$$$/AutoCull/Manager/Command=AutoCull command:", width = LrView.share "autocull_label" },
        f:edit_field { value = LrView.bind "autocullCommand", fill_horizontal = 1, immediate = true },
        f:static_text {
          title = LOC "$$$/AutoCull/Manager/CommandHint=What \"Start AutoCull\" runs (with: service start) when the daemon is down; the full path if Lightroom cannot find it.",
          fill_horizontal = 1, height_in_lines = 2,
        },
      },
      f:row {
        f:static_text { title = LOC "$$$/AutoCull/Manager/Profile=Taste profile:", width = LrView.share "autocull_label" },
        f:edit_field { value = LrView.bind "profile", width_in_chars = 20, immediate = true },
        f:static_text {
          title = LOC "$$$/AutoCull/Manager/ProfileHint=Whose taste Teach trains and Auto-cull uses (e.g. wedding, landscape): each profile has its own ratings and model. Empty: the daemon's active profile.",
          fill_horizontal = 1, height_in_lines = 2,
        },
      },
      f:separator { fill_horizontal = 1 },
      f:static_text { title = LOC "$$$/AutoCull/Manager/Defaults=Defaults of the Auto-cull selection dialog:" },
      -- same rows as the cull dialog, labels left at the default alignment like the rest of this section
      CullOptionsDialog.preset_row(f, LrView.bind "presetItems"),
      CullOptionsDialog.write_row(f),
      CullOptionsDialog.respect_row(f),
      f:separator { fill_horizontal = 1 },
      f:row {
        f:checkbox { title = LOC "$$$/AutoCull/Manager/Auto=Apply background results automatically every",
                     value = LrView.bind "autoApply" },
        f:edit_field { value = LrView.bind "pollSeconds", width_in_chars = 5, min = 10, max = 3600,
                       precision = 0, enabled = LrView.bind "autoApply" },
        f:static_text { title = LOC "$$$/AutoCull/Manager/Seconds=seconds while Lightroom runs" },
      },
    },
  }
end

local function make_collections(props)
  props.collectionsStatus = LOC "$$$/AutoCull/Manager/Making=Making the collections..."
  LrTasks.startAsyncTask(function()
    local status = Collections.ensure(nil, { force = true })
    if status == "created" then
      props.collectionsStatus = LOC "$$$/AutoCull/Manager/Made=Made: look for the AutoCull set in the Collections panel."
    elseif status == "exists" then
      props.collectionsStatus = LOC "$$$/AutoCull/Manager/Exist=Already there: the AutoCull set in the Collections panel."
    else
      props.collectionsStatus = LOC "$$$/AutoCull/Manager/Busy=The catalog was busy; try again."
    end
  end, "AutoCull collections")
end

local function sectionsForBottomOfDialog(f, props)
  return {
    {
      title = LOC "$$$/AutoCull/Manager/CollectionsTitle=AutoCull collections",
      bind_to_object = props,
      f:row {
        f:static_text {
          title = LOC "$$$/AutoCull/Manager/CollectionsHint=Smart collections Keep, Review, Reject and Best of burst in an AutoCull collection set, filled from AutoCull's verdicts. Made once by the first cull; deleted ones come back only from here.",
          fill_horizontal = 1, height_in_lines = 2, width_in_chars = 50,
        },
        f:push_button { title = LOC "$$$/AutoCull/Manager/MakeCollections=Create AutoCull collections",
                        action = function() make_collections(props) end },
      },
      f:row {
        f:static_text { title = LrView.bind "collectionsStatus", fill_horizontal = 1 },
      },
    },
  }
end

return {
  sectionsForBottomOfDialog = sectionsForBottomOfDialog,
  startDialog = startDialog,
  endDialog = endDialog,
  sectionsForTopOfDialog = sectionsForTopOfDialog,
}
