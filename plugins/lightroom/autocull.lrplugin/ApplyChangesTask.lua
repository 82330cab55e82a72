--[[
  ApplyChangesTask.lua - "Apply background results".

  Fetches the decisions the daemon made in the background (watched folders) since the
  cursor kept in the preferences (GetChanges), writes them to the photos of this catalog
  (found by path), and moves the cursor on only after the writes. A photo that already
  carries the same decision (plug-in field appliedSignature) is not written again, and
  photos the user rated are left alone (the option of the cull dialog).
  `quiet` runs (the background poller) show no dialog unless asked.
]]

local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"
local LrTasks = import "LrTasks"

local map = require "decision_map"
local CatalogPhotos = require "CatalogPhotos"
local DaemonClient = require "DaemonClient"
local Log = require "Log"
local Messages = require "Messages"
local Prefs = require "Prefs"

local M = {}

local PAGE = 500
local MAX_PAGES = 200
local busy = false

function M.is_busy() return busy end

local function apply_page(catalog, decisions, prefs, summary)
  local photos, by_path = {}, {}
  for _, d in ipairs(decisions) do
    if type(d) == "table" and type(d.path) == "string" and by_path[d.path] == nil then
      local photo = catalog:findPhotoByPath(d.path)
      by_path[d.path] = photo or false
      if photo then photos[#photos + 1] = photo end
    end
  end
  local entry_of = {}
  if #photos > 0 then
    for _, entry in ipairs(CatalogPhotos.read(catalog, photos, _PLUGIN)) do
      if entry.path then entry_of[entry.path] = entry end
    end
  end
  local opts = Prefs.map_options(prefs)
  opts.skip_if_applied = true
  local items = {}
  for _, d in ipairs(decisions) do
    local entry = type(d) == "table" and entry_of[d.path] or nil
    if not entry then
      map.count_skip(summary, type(d) == "table" and d.path or nil, "not_in_catalog")
    else
      items[#items + 1] = { entry = entry, decision = d, actions = map.actions(d, entry.current, opts) }
    end
  end
  return CatalogPhotos.apply(items, {
    catalog = catalog, plugin = _PLUGIN, summary = summary,
    undo_name = LOC "$$$/AutoCull/Undo/Apply=AutoCull background results",
    timeout = prefs.httpTimeout, chunk_size = prefs.chunkSize,
  })
end

-- The daemon keeps a changes cursor per client: this catalog's file names it.
function M.client_id(catalog)
  local ok, path = pcall(function() return catalog:getPath() end)
  return "lightroom:" .. ((ok and type(path) == "string") and path or "unknown catalog")
end

-- @return summary or nil, err
function M.apply_all(prefs)
  local catalog = LrApplication.activeCatalog()
  local client, err = DaemonClient.connect(prefs)
  if not client then return nil, err end
  local summary = map.new_summary()
  local cursor = prefs.changesCursor or ""
  for _ = 1, MAX_PAGES do
    local answer
    answer, err = client:call("GetChanges", { cursor = cursor, limit = PAGE, clientId = M.client_id(catalog) })
    if not answer then return nil, err end
    local decisions = answer.decisions or {}
    local result = apply_page(catalog, decisions, prefs, summary)
    if result.aborted > 0 then
      -- keep the cursor: the unwritten decisions come again next time
      Log.info("background results: catalog busy, " .. result.aborted .. " not written; cursor kept")
      break
    end
    if type(answer.nextCursor) == "string" and answer.nextCursor ~= "" then
      cursor = answer.nextCursor
      prefs.changesCursor = cursor
    end
    if not answer.more or #decisions == 0 then break end
  end
  return summary
end

-- @param quiet no dialogs (background poller)
function M.run(quiet)
  if busy then
    if not quiet then
      LrDialogs.message(LOC "$$$/AutoCull/Apply/BusyTitle=AutoCull is already applying results",
        LOC "$$$/AutoCull/Apply/Busy=Wait a moment and try again.", "info")
    end
    return nil
  end
  busy = true
  local ok, summary, err = LrTasks.pcall(M.apply_all, Prefs.get())
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
  if not quiet then
    local title = LOC("$$$/AutoCull/Apply/DoneTitle=AutoCull: ^1 background results applied", tostring(summary.applied))
    if summary.total == 0 then
      title = LOC "$$$/AutoCull/Apply/NoneTitle=AutoCull: no new background results"
    end
    Messages.show_summary(title, summary)
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
