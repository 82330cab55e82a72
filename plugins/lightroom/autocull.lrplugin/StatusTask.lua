--[[
  StatusTask.lua - "AutoCull status": is the daemon running, what does it hold, where
  is the token file, is the background poller on, and how far each taste model is trusted.
]]

local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"

local DaemonClient = require "DaemonClient"
local DaemonState = require "DaemonState"
local Messages = require "Messages"
local Prefs = require "Prefs"
local Taste = require "Taste"

local M = {}

-- One line for the Plug-in Manager, or nil, err.
function M.one_line(status, client)
  return LOC("$$$/AutoCull/Status/OneLine=AutoCull ^1 running at ^2: ^3 photos stored, ^4 jobs running.",
             tostring(status.version or "?"), tostring(client.state.url), tostring(status.photosStored or 0),
             tostring(status.jobsRunning or 0))
end

-- CLIP and the taste profiles: the daemon's sentences, one line per profile.
function M.taste_lines(status, prefs)
  local lines = {}
  if type(status.clip) == "string" and status.clip ~= "" then
    lines[#lines + 1] = LOC("$$$/AutoCull/Status/Clip=^1 (^2 photos have a vector)", status.clip,
                            tostring(status.embedded or 0))
  end
  for _, taste in ipairs(type(status.profiles) == "table" and status.profiles or {}) do
    if type(taste) == "table" then lines[#lines + 1] = Taste.profile_line(taste) end
  end
  if status.tasteBusy then
    lines[#lines + 1] = LOC "$$$/AutoCull/Status/TasteBusy=Vectors are being made or a taste model trained in the background."
  end
  local profile = Prefs.profile(prefs)
  if profile then
    lines[#lines + 1] = LOC("$$$/AutoCull/Status/PluginProfile=This plug-in teaches and culls with the taste profile '^1'.",
                            profile)
  else
    lines[#lines + 1] = LOC "$$$/AutoCull/Status/DaemonProfile=This plug-in teaches and culls with the daemon's active taste profile."
  end
  return lines
end

function M.text(status, client, prefs)
  local v = status.verdicts or {}
  local lines = {
    M.one_line(status, client),
    LOC("$$$/AutoCull/Status/Verdicts=With the active policy: ^1 keep, ^2 review, ^3 reject, ^4 failed.",
        tostring(v.keep or 0), tostring(v.review or 0), tostring(v.reject or 0), tostring(v.failed or 0)),
    LOC("$$$/AutoCull/Status/Queue=Queue: ^1 files waiting; ^2 files could not be read so far.",
        tostring(status.queueDepth or 0), tostring(status.failures or 0)),
  }
  local watched = {}
  for _, w in ipairs(status.watched or {}) do
    if type(w) == "table" then watched[#watched + 1] = tostring(w.path) end
  end
  if #watched > 0 then
    lines[#lines + 1] = LOC("$$$/AutoCull/Status/Watched=Watched folders: ^1", table.concat(watched, ", "))
  else
    lines[#lines + 1] = LOC "$$$/AutoCull/Status/NoWatched=No watched folders."
  end
  for _, line in ipairs(M.taste_lines(status, prefs)) do lines[#lines + 1] = line end
  lines[#lines + 1] = LOC("$$$/AutoCull/Status/Home=Daemon home: ^1", tostring(status.home or ""))
  lines[#lines + 1] = LOC("$$$/AutoCull/Status/Token=Token file: ^1", tostring(client.state.path))
  if prefs.autoApply then
    lines[#lines + 1] = LOC("$$$/AutoCull/Status/AutoOn=Background results are applied automatically every ^1 s.",
                            tostring(prefs.pollSeconds))
  else
    lines[#lines + 1] = LOC "$$$/AutoCull/Status/AutoOff=Background results are applied only with Apply background results."
  end
  return table.concat(lines, "\n")
end

-- @return status, client or nil, err
function M.fetch(prefs)
  local client, err = DaemonClient.connect(prefs)
  if not client then return nil, err end
  local status
  status, err = client:call("GetStatus", nil)
  if not status then return nil, err end
  return status, client
end

function M.run()
  local prefs = Prefs.get()
  local status, client = M.fetch(prefs)
  if not status then
    Messages.show_error(client)
    return nil
  end
  LrDialogs.message(LOC "$$$/AutoCull/Status/Title=AutoCull status", M.text(status, client, prefs), "info")
  return status
end

-- Where the token file is, for the Plug-in Manager.
function M.token_path(prefs)
  return DaemonState.path(prefs)
end

function M.start()
  LrFunctionContext.postAsyncTaskWithContext("AutoCull status", function(context)
    LrDialogs.attachErrorDialogToFunctionContext(context)
    M.run()
  end)
end

return M
