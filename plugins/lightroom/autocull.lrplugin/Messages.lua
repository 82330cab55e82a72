--[[
  Messages.lua - every text the user reads about errors and results, in one place.
  Each string is LOC "$$$/AutoCull/...=English" with ^1.. placeholders.
]]

local LrDialogs = import "LrDialogs"
local LrPathUtils = import "LrPathUtils"

local map = require "decision_map"
local DaemonStart = require "DaemonStart"
local Prefs = require "Prefs"

local M = {}

M.START_HINT = LOC "$$$/AutoCull/Error/StartHint=Start it in a terminal with:  autocull serve  (in the AutoCull folder: .venv/bin/autocull serve) and leave it running, or run once:  autocull service install  so it starts by itself at every login. Then try again."

-- Title and explanation for an error from DaemonClient.
function M.error_text(err)
  err = err or {}
  local kind = err.kind
  if kind == "no_state" then
    return LOC "$$$/AutoCull/Error/NotRunning=AutoCull is not running",
      LOC("$$$/AutoCull/Error/NoStateFile=There is no AutoCull state file at ^1, so the daemon has not been started. ^2 If the daemon runs with another AUTOCULL_HOME, choose its state.json in File > Plug-in Manager > AutoCull.",
          tostring(err.path), M.START_HINT)
  elseif kind == "bad_state" then
    return LOC "$$$/AutoCull/Error/BadStateTitle=AutoCull's state file cannot be read",
      LOC("$$$/AutoCull/Error/BadState=The file ^1 could not be read (^2). Restart the daemon so it writes a fresh one. ^3",
          tostring(err.path), tostring(err.detail), M.START_HINT)
  elseif kind == "down" then
    return LOC "$$$/AutoCull/Error/DownTitle=Cannot reach the AutoCull daemon",
      LOC("$$$/AutoCull/Error/Down=Nothing answers at ^1 (^2): the daemon is probably not running. ^3",
          tostring(err.url), tostring(err.detail or err.code), M.START_HINT)
  elseif kind == "timeout" then
    return LOC "$$$/AutoCull/Error/TimeoutTitle=The AutoCull daemon did not answer in time",
      LOC("$$$/AutoCull/Error/Timeout=^1 at ^2 timed out. The daemon may be busy; try again in a moment, or restart it. ^3",
          tostring(err.method), tostring(err.url), M.START_HINT)
  elseif kind == "auth" then
    return LOC "$$$/AutoCull/Error/AuthTitle=The AutoCull daemon refused the plug-in's token",
      LOC("$$$/AutoCull/Error/Auth=The token lives in ^1 and changes each time the daemon starts. Make sure that file belongs to the daemon that is running now (set it in File > Plug-in Manager > AutoCull > Token file), then try again. The daemon said: ^2",
          tostring(err.path), tostring(err.message))
  elseif kind == "protocol" then
    return LOC "$$$/AutoCull/Error/ProtocolTitle=The AutoCull daemon's answer could not be read",
      LOC("$$$/AutoCull/Error/Protocol=^1 answered something that is not JSON (^2). Are the plug-in and the daemon the same version?",
          tostring(err.method), tostring(err.detail))
  end
  return LOC "$$$/AutoCull/Error/ServerTitle=The AutoCull daemon reported an error",
    LOC("$$$/AutoCull/Error/Server=^1 failed (^2 ^3): ^4",
        tostring(err.method), tostring(err.status), tostring(err.code), tostring(err.message))
end

-- Errors where the daemon is simply not running: the dialog offers to start it.
M.NOT_RUNNING = { no_state = true, down = true }

function M.show_error(err, prefix)
  local title, info = M.error_text(err)
  if prefix then info = prefix .. "\n\n" .. info end
  if not (err and M.NOT_RUNNING[err.kind]) then
    LrDialogs.message(title, info, "critical")
    return
  end
  local answer = LrDialogs.confirm(title, info,
    LOC "$$$/AutoCull/Error/StartButton=Start AutoCull",
    LOC "$$$/AutoCull/Error/CloseButton=Close")
  if answer ~= "ok" then return end
  M.start_daemon()
end

-- "Start AutoCull": run `<command> service start` and say what happened.
-- @return true when the command succeeded
function M.start_daemon()
  local prefs = Prefs.get()
  local ok, line, code = DaemonStart.start(prefs)
  if ok then
    LrDialogs.message(LOC "$$$/AutoCull/Start/DoneTitle=AutoCull is starting",
      LOC "$$$/AutoCull/Start/Done=The daemon is starting in the background; give it a few seconds, then try again.", "info")
    return true
  end
  LrDialogs.message(LOC "$$$/AutoCull/Start/FailedTitle=AutoCull could not be started",
    LOC("$$$/AutoCull/Start/Failed=The command ^1 ended with code ^2. If Lightroom cannot find autocull, set its full path as the AutoCull command in File > Plug-in Manager > AutoCull (e.g. the AutoCull folder's .venv/bin/autocull), or start it yourself: ^3",
        line, tostring(code), M.START_HINT), "critical")
  return false
end

local SKIP_TEXT = {
  user_rated = LOC "$$$/AutoCull/Skip/UserRated=already rated, flagged or labelled by you",
  already_applied = LOC "$$$/AutoCull/Skip/AlreadyApplied=already applied",
  changed_by_you = LOC "$$$/AutoCull/Skip/ChangedByYou=taken back by you (AutoCull did not mark them again)",
  no_decision = LOC "$$$/AutoCull/Skip/NoDecision=no decision",
  virtual_copy = LOC "$$$/AutoCull/Skip/VirtualCopy=virtual copy",
  file_missing = LOC "$$$/AutoCull/Skip/FileMissing=file missing",
  not_in_catalog = LOC "$$$/AutoCull/Skip/NotInCatalog=not in this catalog yet (applied once imported)",
  not_in_selection = LOC "$$$/AutoCull/Skip/NotInSelection=answered for a file not in the selection",
  write_busy = LOC "$$$/AutoCull/Skip/WriteBusy=catalog busy, not written",
}
M.SKIP_TEXT = SKIP_TEXT

local function leaf(path)
  if type(path) ~= "string" then return tostring(path) end
  return LrPathUtils.leafName(path)
end

-- The summary of a run, as the lines the dialog shows.
function M.summary_info(summary)
  local lines = {
    LOC("$$$/AutoCull/Summary/Counts=^1 picked, ^2 rejected, ^3 to review, ^4 bursts",
        tostring(summary.picked), tostring(summary.rejected), tostring(summary.review),
        tostring(summary.bursts)),
  }
  if summary.skipped > 0 then
    local reasons, parts = {}, {}
    for reason in pairs(summary.skipped_by_reason) do reasons[#reasons + 1] = reason end
    table.sort(reasons)
    for _, reason in ipairs(reasons) do
      parts[#parts + 1] = LOC("$$$/AutoCull/Summary/SkipPart=^1 ^2", tostring(summary.skipped_by_reason[reason]),
                              SKIP_TEXT[reason] or map.SKIP_TEXT[reason] or reason)
    end
    lines[#lines + 1] = LOC("$$$/AutoCull/Summary/Skipped=^1 skipped: ^2", tostring(summary.skipped),
                            table.concat(parts, ", "))
  end
  if (summary.pending_dropped or 0) > 0 then
    lines[#lines + 1] = LOC("$$$/AutoCull/Summary/PendingDropped=^1 waiting results were dropped: more than ^2 photos were waiting to be imported into this catalog (the oldest went first)",
                            tostring(summary.pending_dropped), tostring(require("CatalogState").LIMIT))
  end
  if summary.failed > 0 then
    lines[#lines + 1] = LOC("$$$/AutoCull/Summary/Failed=^1 failed:", tostring(summary.failed))
    for i, f in ipairs(summary.failures) do
      if i > 20 then
        lines[#lines + 1] = LOC("$$$/AutoCull/Summary/More=... and ^1 more (AutoCull status lists them all)",
                                tostring(#summary.failures - 20))
        break
      end
      lines[#lines + 1] = LOC("$$$/AutoCull/Summary/Failure=  ^1: ^2", leaf(f.path), tostring(f.reason))
    end
  end
  return table.concat(lines, "\n")
end

function M.show_summary(title, summary, extra)
  local info = M.summary_info(summary)
  if extra and extra ~= "" then info = info .. "\n\n" .. extra end
  LrDialogs.message(title, info, "info")
end

return M
