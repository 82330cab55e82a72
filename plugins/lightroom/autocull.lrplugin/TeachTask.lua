--[[
  TeachTask.lua - "Teach AutoCull from my ratings".

  Sends the stars, flags and labels the photographer set on the selected photos as
  feedback (SendFeedback, source "lightroom", the taste profile of the preferences) and
  shows what the daemon answers, with the taste model's cross-validated quality and
  whether it is trusted enough to count in decisions.
  Photos whose state is exactly what AutoCull wrote, unrated photos, virtual copies and
  missing files are not sent: AutoCull must learn from you, not from itself.
]]

local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"

local map = require "decision_map"
local CatalogPhotos = require "CatalogPhotos"
local DaemonClient = require "DaemonClient"
local Messages = require "Messages"
local Prefs = require "Prefs"
local Selection = require "Selection"
local Taste = require "Taste"

local M = {}

-- @return items, skipped_by_reason
function M.feedback_items(entries)
  local items, skipped, seen = {}, {}, {}
  local function skip(reason) skipped[reason] = (skipped[reason] or 0) + 1 end
  for _, entry in ipairs(entries) do
    if entry.virtual then
      skip("virtual_copy")
    elseif entry.missing or type(entry.path) ~= "string" then
      skip("file_missing")
    elseif not map.is_user_rated(entry.current, { unrated_rating = 0 }) then
      skip("not_rated")
    elseif not seen[entry.path] then
      seen[entry.path] = true
      items[#items + 1] = map.feedback_item(entry.path, entry.current)
    end
  end
  return items, skipped
end

local function percent(x)
  return tostring(math.floor((tonumber(x) or 0) * 100 + 0.5))
end

-- The dialog's text. `min_quality` is the policy's line a model must reach to count (nil: unknown).
function M.answer_text(answer, sent, skipped, min_quality)
  local lines = {
    LOC("$$$/AutoCull/Teach/Stored=^1 of ^2 ratings stored; ^3 ratings kept so far.",
        tostring(answer.stored or 0), tostring(sent), tostring(answer.totalLabels or 0)),
  }
  if (tonumber(answer.unknown) or 0) > 0 then
    lines[#lines + 1] = LOC("$$$/AutoCull/Teach/Unknown=^1 of these photos have no CLIP vector yet: the daemon makes them in the background, then retrains the model. There is no need to cull them first.",
                            tostring(answer.unknown))
  end
  if (tonumber(answer.compared) or 0) > 0 then
    lines[#lines + 1] = LOC("$$$/AutoCull/Teach/Agreement=AutoCull agrees with you on ^1% of ^2 rated photos.",
                            percent(answer.agreement), tostring(answer.compared))
  end
  if type(answer.modelState) == "string" and answer.modelState ~= "" then
    lines[#lines + 1] = LOC("$$$/AutoCull/Teach/Model=Model: ^1", answer.modelState)
  end
  local quality = Taste.quality_line(answer.taste, min_quality)
  if quality then lines[#lines + 1] = quality end
  local notes = {}
  if skipped.not_rated then
    notes[#notes + 1] = LOC("$$$/AutoCull/Teach/NotRated=^1 without your own rating, flag or label",
                            tostring(skipped.not_rated))
  end
  if skipped.virtual_copy then
    notes[#notes + 1] = LOC("$$$/AutoCull/Teach/Virtual=^1 virtual copies", tostring(skipped.virtual_copy))
  end
  if skipped.file_missing then
    notes[#notes + 1] = LOC("$$$/AutoCull/Teach/Missing=^1 missing files", tostring(skipped.file_missing))
  end
  if #notes > 0 then
    lines[#lines + 1] = LOC("$$$/AutoCull/Teach/NotSent=Not sent: ^1.", table.concat(notes, ", "))
  end
  return table.concat(lines, "\n")
end

function M.run()
  local catalog = LrApplication.activeCatalog()
  local photos = Selection.target_photos(catalog,
    LOC "$$$/AutoCull/Teach/AskAll=AutoCull would learn from every photo in the filmstrip.")
  if not photos then return nil end
  local prefs = Prefs.get()
  local client, err = DaemonClient.connect(prefs)
  if not client then
    Messages.show_error(err)
    return nil
  end
  local entries = CatalogPhotos.read(catalog, photos, _PLUGIN)
  local items, skipped = M.feedback_items(entries)
  if #items == 0 then
    LrDialogs.message(LOC "$$$/AutoCull/Teach/NothingTitle=Nothing to teach",
      LOC "$$$/AutoCull/Teach/Nothing=None of these photos carries a rating, flag or label you set yourself. Rate some photos, select them, and try again.",
      "info")
    return nil
  end
  local answer
  answer, err = client:call("SendFeedback", { items = items, source = "lightroom", profile = Prefs.profile(prefs) })
  if not answer then
    Messages.show_error(err)
    return nil
  end
  -- an untrusted model's dialog says which quality it must reach: the policy's line
  local min_quality
  if type(answer.taste) == "table" and answer.taste.ready and not answer.taste.trusted then
    min_quality = Taste.min_quality(client)
  end
  LrDialogs.message(LOC("$$$/AutoCull/Teach/DoneTitle=AutoCull learned from ^1 photos", tostring(#items)),
                    M.answer_text(answer, #items, skipped, min_quality), "info")
  return answer
end

function M.start()
  LrFunctionContext.postAsyncTaskWithContext("AutoCull teach", function(context)
    LrDialogs.attachErrorDialogToFunctionContext(context)
    M.run()
  end)
end

return M
