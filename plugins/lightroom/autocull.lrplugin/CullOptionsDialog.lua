--[[
  CullOptionsDialog.lua - the options shown before a cull: policy preset, what to write,
  and "leave photos I already rated or flagged alone". Choices are kept as the new defaults.
]]

local LrBinding = import "LrBinding"
local LrDialogs = import "LrDialogs"
local LrView = import "LrView"

local Prefs = require "Prefs"

local M = {}

-- Popup items for the presets the daemon knows.
function M.preset_items(presets)
  local items = { { title = LOC "$$$/AutoCull/Options/ActivePolicy=The daemon's active policy", value = "" } }
  for _, p in ipairs(presets or {}) do
    if type(p) == "table" and type(p.name) == "string" and p.name ~= "" then
      local title = p.name
      if type(p.description) == "string" and p.description ~= "" then
        title = LOC("$$$/AutoCull/Options/PresetTitle=^1 - ^2", p.name, p.description)
      end
      items[#items + 1] = { title = title, value = p.name }
    end
  end
  return items
end

-- The rows of cull options, shared with the Plug-in Manager section (which edits the same
-- keys as this dialog's defaults). They bind to "preset", the write* keys and
-- "respectUserRatings" of the enclosing bind_to_object. `alignment` is the labels'
-- alignment (nil: Lightroom's default); `items` is the popup's item list or a binding to one.
function M.preset_row(f, items, alignment)
  return f:row {
    f:static_text { title = LOC "$$$/AutoCull/Options/Preset=Policy preset:", alignment = alignment,
                    width = LrView.share "autocull_label" },
    f:popup_menu { items = items, value = LrView.bind "preset", width_in_chars = 40 },
  }
end

function M.write_row(f, alignment)
  return f:row {
    f:static_text { title = LOC "$$$/AutoCull/Options/Write=Write:", alignment = alignment,
                    width = LrView.share "autocull_label" },
    f:checkbox { title = LOC "$$$/AutoCull/Options/Picks=Pick and reject flags", value = LrView.bind "writePicks" },
    f:checkbox { title = LOC "$$$/AutoCull/Options/Stars=Stars", value = LrView.bind "writeRatings" },
    f:checkbox { title = LOC "$$$/AutoCull/Options/Labels=Colour labels", value = LrView.bind "writeLabels" },
    f:checkbox { title = LOC "$$$/AutoCull/Options/Keywords=Keywords (under AutoCull)",
                 value = LrView.bind "writeKeywords" },
  }
end

function M.respect_row(f)
  return f:row {
    f:static_text { title = "", width = LrView.share "autocull_label" },
    f:checkbox { title = LOC "$$$/AutoCull/Options/Respect=Leave photos I already rated or flagged alone",
                 value = LrView.bind "respectUserRatings" },
  }
end

-- Checkboxes and popup bound to `props`, labels right-aligned; an unknown preset falls
-- back to the daemon's active policy.
function M.option_rows(f, props, presets)
  local items = M.preset_items(presets)
  local known = false
  for _, item in ipairs(items) do if item.value == props.preset then known = true end end
  if not known then props.preset = "" end
  return f:column {
    bind_to_object = props,
    spacing = f:control_spacing(),
    M.preset_row(f, items, "right"),
    M.write_row(f, "right"),
    M.respect_row(f),
  }
end

-- Show the dialog. Must run inside an async task.
-- @return options table (the chosen values) or nil when cancelled
function M.run(context, prefs, presets, count)
  local props = LrBinding.makePropertyTable(context)
  for _, key in ipairs(Prefs.DIALOG_KEYS) do props[key] = prefs[key] end
  local f = LrView.osFactory()
  local contents = f:column {
    bind_to_object = props,
    spacing = f:dialog_spacing(),
    f:static_text {
      title = LOC("$$$/AutoCull/Options/Count=AutoCull will decide ^1 photos: keep, review or reject, each with its reasons. Every write can be undone with Edit > Undo.",
                  tostring(count)),
      fill_horizontal = 1, width_in_chars = 60, height_in_lines = 2, -- wraps instead of one long line
    },
    M.option_rows(f, props, presets),
  }
  local answer = LrDialogs.presentModalDialog {
    title = LOC "$$$/AutoCull/Options/Title=Auto-cull selection",
    contents = contents,
    actionVerb = LOC "$$$/AutoCull/Options/Go=Cull",
  }
  if answer ~= "ok" then return nil end
  local options = {}
  for _, key in ipairs(Prefs.DIALOG_KEYS) do
    options[key] = props[key]
    prefs[key] = props[key]
  end
  return options
end

return M
