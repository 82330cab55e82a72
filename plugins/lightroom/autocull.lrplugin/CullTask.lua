--[[
  CullTask.lua - "Auto-cull selection".

  selected photos -> options dialog -> StartJob on the daemon -> poll GetJob under a
  cancellable LrProgressScope (cancel -> CancelJob, nothing written) -> write picks,
  stars, labels and keywords in chunks (each one undo step) -> summary dialog.
  Virtual copies and missing files are skipped and counted; photos the user already
  rated or flagged are left alone unless the option says otherwise.
]]

local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"
local LrPathUtils = import "LrPathUtils"
local LrProgressScope = import "LrProgressScope"
local LrTasks = import "LrTasks"

local map = require "decision_map"
local CatalogPhotos = require "CatalogPhotos"
local Collections = require "Collections"
local CullOptionsDialog = require "CullOptionsDialog"
local DaemonClient = require "DaemonClient"
local Log = require "Log"
local Messages = require "Messages"
local Prefs = require "Prefs"
local Selection = require "Selection"

local M = {}

local TERMINAL = { JOB_STATE_DONE = true, JOB_STATE_CANCELLED = true, JOB_STATE_FAILED = true }

-- Store the decisions of one GetJob answer at their indexes (decisionsFrom is 0-based).
local function collect(decisions, job)
  local from = tonumber(job.decisionsFrom) or #decisions
  for i, d in ipairs(job.decisions or {}) do
    decisions[from + i] = d
  end
end

local function count_collected(decisions)
  local n = 0
  while decisions[n + 1] ~= nil do n = n + 1 end
  return n
end

local function stage_caption(job)
  local stage = tostring(job.stage or "")
  if type(job.currentPath) == "string" and job.currentPath ~= "" then
    return LOC("$$$/AutoCull/Cull/Caption=^1 ^2 of ^3: ^4", stage, tostring(job.done or 0),
               tostring(job.total or 0), LrPathUtils.leafName(job.currentPath))
  end
  return LOC("$$$/AutoCull/Cull/CaptionNoFile=^1 ^2 of ^3", stage, tostring(job.done or 0), tostring(job.total or 0))
end

-- Poll the job until it ends or the user cancels.
-- @return job, decisions   or nil, err, cancelled
local function wait_for_job(client, job, scope, prefs)
  local decisions = {}
  collect(decisions, job)
  local interval = tonumber(prefs.pollInterval) or 0.5
  while not TERMINAL[job.state] do
    if scope:isCanceled() then
      Log.info("cull cancelled by the user; cancelling job " .. tostring(job.id))
      local _, cerr = client:call("CancelJob", { jobId = job.id })
      if cerr then Log.info("CancelJob failed: " .. tostring(cerr.kind)) end
      return nil, nil, true
    end
    LrTasks.sleep(interval)
    local answer, err = client:call("GetJob", { jobId = job.id, decisionsFrom = count_collected(decisions) })
    if not answer then return nil, err end
    job = answer
    collect(decisions, job)
    local total = tonumber(job.total) or 0
    if total > 0 then scope:setPortionComplete(tonumber(job.done) or 0, total) end
    scope:setCaption(stage_caption(job))
  end
  if scope:isCanceled() then return nil, nil, true end
  -- Decisions not yet received: the daemon answers a page at a time (1000 by default), so a big
  -- cull takes many calls; no fixed cap (a 100,000-photo job is 100 pages), but stop on a page that
  -- brings nothing new rather than loop.
  local expected = tonumber(job.decisionsTotal) or count_collected(decisions)
  local have = count_collected(decisions)
  while have < expected do
    local answer, err = client:call("GetJob", { jobId = job.id, decisionsFrom = have })
    if not answer then return nil, err end
    collect(decisions, answer)
    local now = count_collected(decisions)
    if now <= have then break end
    have = now
  end
  local list = {}
  for i = 1, count_collected(decisions) do list[i] = decisions[i] end
  return job, list
end

-- The whole flow. Runs inside an async task with a function context.
-- @return summary (or nil when nothing was written), for tests and logs
function M.run(context)
  local catalog = LrApplication.activeCatalog()
  local photos = Selection.target_photos(catalog,
    LOC "$$$/AutoCull/Cull/AskAll=AutoCull would cull the whole filmstrip.")
  if not photos then return nil end
  local prefs = Prefs.get()

  local client, err = DaemonClient.connect(prefs)
  local presets
  if client then
    presets, err = client:call("ListPresets", nil)
  end
  if err then
    Messages.show_error(err, LOC "$$$/AutoCull/Cull/NothingChanged=Nothing was changed in your catalog.")
    return nil
  end

  local options = CullOptionsDialog.run(context, prefs, presets.presets, #photos)
  if not options then return nil end
  local map_opts = Prefs.map_options(options)

  local scope = LrProgressScope {
    title = LOC("$$$/AutoCull/Cull/Progress=AutoCull: culling ^1 photos", tostring(#photos)),
    functionContext = context,
  }
  scope:setCancelable(true)
  scope:setCaption(LOC "$$$/AutoCull/Cull/Reading=Reading the catalog")

  local summary = map.new_summary()
  local entries = CatalogPhotos.read(catalog, photos, _PLUGIN)
  local by_path, paths = {}, {}
  for _, entry in ipairs(entries) do
    if entry.virtual then
      map.count_skip(summary, entry.path, "virtual_copy")
    elseif entry.missing or type(entry.path) ~= "string" then
      map.count_skip(summary, entry.path, "file_missing")
    elseif not by_path[entry.path] then
      by_path[entry.path] = entry
      paths[#paths + 1] = entry.path
    end
  end

  if #paths == 0 then
    scope:done()
    Messages.show_summary(LOC "$$$/AutoCull/Cull/NothingToCull=AutoCull: nothing to cull", summary)
    return summary
  end

  local request = { paths = paths }
  if type(options.preset) == "string" and options.preset ~= "" then request.preset = options.preset end
  request.profile = Prefs.profile(prefs)
  local job
  job, err = client:call("StartJob", request)
  if not job then
    scope:done()
    Messages.show_error(err, LOC "$$$/AutoCull/Cull/NothingChanged=Nothing was changed in your catalog.")
    return nil
  end
  Log.info("cull job " .. tostring(job.id) .. " started for " .. #paths .. " photos")

  local decisions, cancelled
  job, decisions, cancelled = wait_for_job(client, job, scope, prefs)
  if cancelled then
    scope:done()
    LrDialogs.message(LOC "$$$/AutoCull/Cull/CancelledTitle=AutoCull: cull cancelled",
      LOC "$$$/AutoCull/Cull/Cancelled=The job was stopped on the daemon. Nothing was changed in your catalog.", "info")
    return nil
  end
  if not job then
    scope:done()
    Messages.show_error(decisions, LOC "$$$/AutoCull/Cull/LostDaemon=The daemon stopped answering during the cull. Nothing was changed in your catalog.")
    return nil
  end
  if job.state ~= "JOB_STATE_DONE" then
    scope:done()
    LrDialogs.message(LOC "$$$/AutoCull/Cull/FailedTitle=AutoCull: the cull failed",
      LOC("$$$/AutoCull/Cull/Failed=The daemon ended the job (^1): ^2. Nothing was changed in your catalog.",
          tostring(job.state), tostring(job.message or "")), "critical")
    return nil
  end

  -- Pair every decision with its photo.
  local items, answered = {}, {}
  for _, d in ipairs(decisions) do
    local entry = type(d) == "table" and by_path[d.path] or nil
    if entry then
      answered[d.path] = true
      items[#items + 1] = { entry = entry, decision = d, actions = map.actions(d, entry.current, map_opts) }
    else
      map.count_skip(summary, type(d) == "table" and d.path or nil, "not_in_selection")
    end
  end
  for _, path in ipairs(paths) do
    if not answered[path] then
      map.count(summary, { path = path }, { skip = true, skip_reason = "failed",
        error = LOC "$$$/AutoCull/Cull/NoAnswer=AutoCull gave no decision for this photo" })
    end
  end

  scope:setCaption(LOC "$$$/AutoCull/Cull/Writing=Writing to the catalog")
  -- The AutoCull collection set is made once per catalog, before the first cull's writes, so
  -- that Edit > Undo right after a cull takes back the cull, not the collections.
  if CatalogPhotos.writes_any(items) then Collections.ensure(catalog) end
  local result = CatalogPhotos.apply(items, {
    catalog = catalog, plugin = _PLUGIN, summary = summary,
    undo_name = LOC "$$$/AutoCull/Undo/Cull=AutoCull cull",
    timeout = prefs.httpTimeout, chunk_size = prefs.chunkSize,
    progress = function(done, total)
      scope:setPortionComplete(done, total)
      return not scope:isCanceled()
    end,
  })
  scope:done()

  local extra = ""
  if result.stopped then
    extra = LOC("$$$/AutoCull/Cull/StoppedWriting=Stopped on request after writing ^1 of ^2 photos; Edit > Undo takes back what was written.",
                tostring(result.written), tostring(#items))
  end
  if result.aborted > 0 then
    extra = extra .. LOC("$$$/AutoCull/Cull/Busy=Lightroom's catalog stayed busy: ^1 photos were not written. Run the cull again.",
                         tostring(result.aborted))
  end
  Messages.show_summary(LOC("$$$/AutoCull/Cull/DoneTitle=AutoCull: ^1 photos culled", tostring(#paths)), summary, extra)
  return summary
end

function M.start()
  LrFunctionContext.postAsyncTaskWithContext("AutoCull cull", function(context)
    LrDialogs.attachErrorDialogToFunctionContext(context)
    M.run(context)
  end)
end

return M
