--[[
  ApplyChangesTask.lua - "Apply background results".

  Fetches the decisions the daemon made in the background (watched folders) since this
  catalog's cursor (GetChanges; CatalogState keeps a cursor per catalog), writes them to the
  photos of this catalog (found by path), and moves the cursor on only after the writes.
  A decision for a photo not (yet) in this catalog is not lost: its path waits in the
  catalog's pending list and, once the photo is imported, its current decision is fetched with
  Decide and applied (a newer decision supersedes the pending one by itself).
  A photo that still carries the same decision is not written again, and photos the user rated
  are left alone (the option of the cull dialog). When the catalog stays busy, the run stops at
  the first aborted write; the cursor and the pending list keep what was not written.
  `quiet` runs (the background poller) show no dialog unless asked.
]]

local LrApplication = import "LrApplication"
local LrPathUtils = import "LrPathUtils"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"
local LrTasks = import "LrTasks"

local map = require "decision_map"
local CatalogPhotos = require "CatalogPhotos"
local Collections = require "Collections"
local CatalogState = require "CatalogState"
local DaemonClient = require "DaemonClient"
local Log = require "Log"
local Messages = require "Messages"
local Prefs = require "Prefs"

local M = {}

local PAGE = 500
local MAX_PAGES = 200
local PENDING_BATCH = 500 -- pending photos decided again per Decide call
local busy = false
local quitting = false

function M.is_busy() return busy end

-- Lightroom quits (ShutdownApp.lua): a run in progress, background or the menu item's, stops
-- after the page it is writing.
function M.stop() quitting = true end

-- Windows and macOS file systems ignore case by default, and the daemon keeps a path as the
-- user typed it (c:\users\ann\pictures) while Lightroom keeps the disk's spelling
-- (C:\Users\Ann\Pictures): there paths are compared without case. Elsewhere case counts.
local function ignores_case() return WIN_ENV == true or MAC_ENV == true end

-- A folder path for comparing without case: Windows takes either separator; no trailing one.
local function folded(path)
  if WIN_ENV == true then path = path:gsub("/", "\\") end
  return string.lower((path:gsub("[/\\]+$", "")))
end

-- Is `folder` in the catalog under another spelling of its case? getFolderByPath documents no
-- case rule, so its nil is not taken for "absent" where the file system ignores case: walk down
-- from catalog:getFolders() along the one branch whose path is a prefix of the folder's
-- (LrFolder:getChildren at each level). Cost per folder: depth x siblings folder reads, no
-- photo lookups; done once per folder per run.
local function has_folder_any_case(catalog, folder)
  local want = folded(folder)
  local sep = WIN_ENV == true and "\\" or "/"
  local level = catalog:getFolders() or {}
  for _ = 1, 64 do
    local below
    for _, f in ipairs(level) do
      local have = folded(f:getPath() or "")
      if have == want then return true end
      if string.sub(want, 1, #have + 1) == have .. sep then
        below = f:getChildren() or {}
        break
      end
    end
    if not below then return false end
    level = below
  end
  return false
end

-- Look paths up in the catalog, folder by folder: catalog:getFolderByPath first (one call per
-- folder; on Windows/macOS, when it answers nil, one walk down the folder tree without case),
-- and per-photo findPhotoByPath only in folders the catalog has (SDK 8.0: caseSensitive = false
-- on Windows/macOS). A shoot not imported yet costs one lookup per folder, not one per photo.
-- @return {[path] = LrPhoto or false}
local function find_photos(catalog, paths)
  local by_folder, order = {}, {}
  for _, path in ipairs(paths) do
    local folder = LrPathUtils.parent(path) or ""
    if not by_folder[folder] then
      by_folder[folder] = {}
      order[#order + 1] = folder
    end
    local list = by_folder[folder]
    list[#list + 1] = path
  end
  local any_case = ignores_case()
  local found = {}
  for _, folder in ipairs(order) do
    -- a path whose folder cannot be told (no separator LrPathUtils knows) is looked up by itself
    local known = folder == "" or catalog:getFolderByPath(folder) ~= nil
                  or (any_case and has_folder_any_case(catalog, folder))
    for _, path in ipairs(by_folder[folder]) do
      if found[path] == nil then
        local photo = false
        if known then
          if any_case then photo = catalog:findPhotoByPath(path, false) else photo = catalog:findPhotoByPath(path) end
        end
        found[path] = photo or false
      end
    end
  end
  return found
end

-- Write one list of decisions. @return result of CatalogPhotos.apply plus
--   missing = paths not in this catalog, done = paths in it that need nothing more
local function apply_decisions(catalog, decisions, prefs, summary, count_missing)
  local paths = {}
  for _, d in ipairs(decisions) do
    if type(d) == "table" and type(d.path) == "string" then paths[#paths + 1] = d.path end
  end
  local by_path = find_photos(catalog, paths)
  local photos, seen = {}, {}
  for _, path in ipairs(paths) do
    local photo = by_path[path]
    if photo and not seen[photo] then
      seen[photo] = true
      photos[#photos + 1] = photo
    end
  end
  -- decisions meet their photos through the photo found for the daemon's path, never through
  -- Lightroom's own path string: on Windows the two differ in separators and drive-letter case
  local entry_of_photo = {}
  if #photos > 0 then
    for _, entry in ipairs(CatalogPhotos.read(catalog, photos, _PLUGIN)) do entry_of_photo[entry.photo] = entry end
  end
  local opts = Prefs.map_options(prefs)
  opts.skip_if_applied = true
  local items, missing = {}, {}
  for _, d in ipairs(decisions) do
    local photo = type(d) == "table" and by_path[d.path] or nil
    local entry = photo and entry_of_photo[photo] or nil
    if not entry then
      if type(d) == "table" and type(d.path) == "string" then missing[#missing + 1] = d.path end
      if count_missing then map.count_skip(summary, type(d) == "table" and d.path or nil, "not_in_catalog") end
    else
      items[#items + 1] = { entry = entry, decision = d, actions = map.actions(d, entry.current, opts) }
    end
  end
  -- made once per catalog, before the first writes (Undo after this run takes back the results)
  if CatalogPhotos.writes_any(items) then Collections.ensure(catalog) end
  local result = CatalogPhotos.apply(items, {
    catalog = catalog, plugin = _PLUGIN, summary = summary,
    undo_name = LOC "$$$/AutoCull/Undo/Apply=AutoCull background results",
    timeout = prefs.httpTimeout, chunk_size = prefs.chunkSize,
  })
  local unwritten = {}
  for _, item in ipairs(result.unwritten) do unwritten[item.decision.path] = true end
  result.missing, result.done = missing, {}
  for _, item in ipairs(items) do
    if not unwritten[item.decision.path] then result.done[#result.done + 1] = item.decision.path end
  end
  result.not_written = {}
  for path in pairs(unwritten) do result.not_written[#result.not_written + 1] = path end
  return result
end

-- The current decisions for paths (Decide, every page). @return decisions or nil, err
local function decide(client, paths)
  local out, token = {}, ""
  for _ = 1, MAX_PAGES do
    local answer, err = client:call("Decide", { paths = paths, pageToken = token ~= "" and token or nil })
    if not answer then return nil, err end
    for _, d in ipairs(answer.decisions or {}) do out[#out + 1] = d end
    token = type(answer.nextPageToken) == "string" and answer.nextPageToken or ""
    if token == "" then break end
  end
  return out
end

-- Pending photos that are in the catalog now get their current decision (all of them, in
-- batches of PENDING_BATCH per Decide call).
-- @return keep_going (false when the catalog stayed busy), or nil, err
local function apply_pending(client, catalog, state, prefs, summary)
  if #state.pending == 0 then return true end
  local there = find_photos(catalog, state.pending)
  local found = {}
  for _, path in ipairs(state.pending) do
    if there[path] then found[#found + 1] = path end
  end
  local i = 1
  while i <= #found do
    local batch = {}
    for j = i, math.min(i + PENDING_BATCH - 1, #found) do batch[#batch + 1] = found[j] end
    i = i + #batch
    local decisions, err = decide(client, batch)
    if not decisions then return nil, err end
    local result = apply_decisions(catalog, decisions, prefs, summary, false)
    -- written, left alone or failed: no longer pending; a path the daemon no longer knows goes too
    local answered = {}
    for _, d in ipairs(decisions) do if type(d) == "table" then answered[d.path] = true end end
    local settled = {}
    for _, p in ipairs(result.done) do settled[#settled + 1] = p end
    for _, p in ipairs(batch) do if not answered[p] then settled[#settled + 1] = p end end
    CatalogState.remove_pending(state, settled)
    if result.busy then return false end
  end
  return true
end

-- @param should_stop optional function: true when Lightroom is quitting (checked between pages)
-- @return summary, note or nil, err
function M.apply_all(prefs, should_stop)
  local catalog = LrApplication.activeCatalog()
  local client, err = DaemonClient.connect(prefs)
  if not client then return nil, err end
  local key = CatalogState.key(catalog)
  local state = CatalogState.get(prefs, key)
  local summary = map.new_summary()
  local function save() CatalogState.put(prefs, key, state) end

  local going
  going, err = apply_pending(client, catalog, state, prefs, summary)
  save()
  if going == nil then return nil, err end
  if not going then
    Log.info("background results: catalog busy; pending photos kept for next time")
    return summary, "busy"
  end

  local cursor = state.cursor
  for _ = 1, MAX_PAGES do
    if quitting or (should_stop and should_stop()) then return summary, "stopped" end
    local answer
    answer, err = client:call("GetChanges", { cursor = cursor, limit = PAGE, clientId = "lightroom:" .. key })
    if not answer then return nil, err end
    local decisions = answer.decisions or {}
    local result = apply_decisions(catalog, decisions, prefs, summary, true)
    local dropped = CatalogState.add_pending(state, result.missing)
    if dropped > 0 then
      -- only past the safety bound (CatalogState.LIMIT): said in the summary, not only logged
      summary.pending_dropped = (summary.pending_dropped or 0) + dropped
      Log.info("background results: " .. dropped .. " oldest pending photos dropped (at most " ..
               CatalogState.LIMIT .. " per catalog)")
    end
    CatalogState.remove_pending(state, result.done)
    if result.busy then
      -- keep the cursor: this page comes again next time, and what was written is skipped then
      save()
      Log.info("background results: catalog busy, " .. result.aborted .. " not written; cursor kept")
      return summary, "busy"
    end
    if type(answer.nextCursor) == "string" and answer.nextCursor ~= "" then
      cursor = answer.nextCursor
      state.cursor = cursor
    end
    save()
    if not answer.more or #decisions == 0 then break end
  end
  return summary
end

-- @param quiet no dialogs (background poller)
-- @param should_stop optional function: true when the run should end early (Lightroom quits)
function M.run(quiet, should_stop)
  if busy then
    if not quiet then
      LrDialogs.message(LOC "$$$/AutoCull/Apply/BusyTitle=AutoCull is already applying results",
        LOC "$$$/AutoCull/Apply/Busy=Wait a moment and try again.", "info")
    end
    return nil
  end
  busy = true
  local ok, summary, err = LrTasks.pcall(M.apply_all, Prefs.get(), should_stop)
  busy = false
  if not ok then
    Log.info("background results failed: " .. tostring(summary))
    if not quiet then error(summary, 0) end
    return nil
  end
  if not summary then
    Log.info("background results: " .. tostring(err and err.kind))
    if not quiet then Messages.show_error(err) end
    return nil, err
  end
  Log.info(string.format("background results: %d applied, %d skipped, %d failed",
                         summary.applied, summary.skipped, summary.failed))
  if not quiet and not quitting then -- no dialog while Lightroom quits
    local title = LOC("$$$/AutoCull/Apply/DoneTitle=AutoCull: ^1 background results applied", tostring(summary.applied))
    if summary.total == 0 then
      title = LOC "$$$/AutoCull/Apply/NoneTitle=AutoCull: no new background results"
    end
    local extra
    if err == "busy" then
      extra = LOC "$$$/AutoCull/Apply/BusyStopped=Lightroom's catalog stayed busy, so AutoCull stopped; the photos not written are applied next time."
    end
    Messages.show_summary(title, summary, extra)
  end
  return summary
end

function M.start()
  LrFunctionContext.postAsyncTaskWithContext("AutoCull apply results", function(context)
    LrDialogs.attachErrorDialogToFunctionContext(context)
    M.run(false)
  end)
end

return M
