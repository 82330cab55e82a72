--[[
  CatalogState.lua - what "Apply background results" remembers, per catalog.

  Keyed by the catalog file (LrCatalog:getPath), so two catalogs never share anything:
    cursor  - the GetChanges cursor (in the plug-in's preferences, `catalogs[key].cursor`):
              every decision before it was applied, or is pending
    pending - paths the daemon decided while they were not (yet) in this catalog, oldest first.
              A 6,000-frame shoot imported next week must not lose its results, so there is no
              small cap and the list is not kept in LrPrefs (which rewrites the whole table on
              every save): it is a JSON file in the plug-in's own data folder
              (<appData>/AutoCull/pending-<catalog name>-<hash>.json), written only when it
              changed, to a temp file first and then moved over the old one.
              Each run looks them up again (grouped by folder: ApplyChangesTask); once a photo
              is in the catalog its CURRENT decision is fetched (Decide), so a newer decision
              always supersedes the one that was pending.
  LIMIT is a safety bound only (a watched folder that is never imported, for years): when it is
  hit the oldest paths go and the run's summary says how many (summary.pending_dropped).
]]

local LrFileUtils = import "LrFileUtils"
local LrPathUtils = import "LrPathUtils"

local json = require "dkjson"
local Log = require "Log"
local pending_list = require "pending"

local M = {}

M.LIMIT = pending_list.LIMIT

function M.key(catalog)
  local ok, path = pcall(function() return catalog:getPath() end)
  return (ok and type(path) == "string") and path or "unknown catalog"
end

-- A file name for the catalog: its sanitised name (readable) and a hash of the whole path
-- (two catalogs with one name in different folders get two files).
local function hash(s)
  local h = 5381
  for i = 1, #s do h = (h * 33 + string.byte(s, i)) % 4294967296 end
  return string.format("%08x", h)
end

function M.file_for(key)
  local leaf = (key:match("([^/\\]+)$") or "catalog"):gsub("%.lrcat$", ""):gsub("[^%w%-_]", "_"):sub(1, 40)
  local dir = LrPathUtils.child(LrPathUtils.getStandardFilePath("appData"), "AutoCull")
  return LrPathUtils.child(dir, "pending-" .. leaf .. "-" .. hash(key) .. ".json")
end

local function copy_list(list)
  local out = {}
  for _, v in ipairs(type(list) == "table" and list or {}) do
    if type(v) == "string" then out[#out + 1] = v end
  end
  return out
end

local function read_json(path)
  if not LrFileUtils.exists(path) then return nil end
  local ok, text = pcall(LrFileUtils.readFile, path)
  if not ok then return nil end
  local t = json.decode(text, 1, nil)
  return type(t) == "table" and t or nil
end

local function load_pending(key)
  local path = M.file_for(key)
  -- a crash between removing the old file and moving the new one in leaves only the temp file
  local t = read_json(path) or read_json(path .. ".tmp")
  return copy_list(t and t.pending)
end

-- temp file + move: a reader never sees half a file
local function save_pending(key, pending)
  local path = M.file_for(key)
  LrFileUtils.createAllDirectories(LrPathUtils.parent(path))
  local tmp = path .. ".tmp"
  local f = io.open(tmp, "wb")
  if not f then
    Log.info("background results: cannot write " .. tmp)
    return false
  end
  f:write(json.encode { catalog = key, pending = pending })
  f:close()
  if LrFileUtils.exists(path) then LrFileUtils.delete(path) end
  LrFileUtils.move(tmp, path)
  return true
end

-- This catalog's state: {cursor = string ("" = the daemon's saved cursor for this catalog), pending = {paths}}
function M.get(prefs, key)
  local all = type(prefs.catalogs) == "table" and prefs.catalogs or {}
  local mine = type(all[key]) == "table" and all[key] or {}
  local pending = load_pending(key)
  local state = { cursor = type(mine.cursor) == "string" and mine.cursor or "", pending = pending,
                  saved_cursor = mine.cursor, dirty = false }
  if type(mine.pending) == "table" then
    -- an earlier version kept them in the preferences: they move to the file on the next save
    M.add_pending(state, copy_list(mine.pending))
    state.saved_cursor = nil
  end
  return state
end

-- Save what changed: the cursor in the preferences, the pending list in its file.
function M.put(prefs, key, state)
  if state.cursor ~= state.saved_cursor then
    local all = {}
    if type(prefs.catalogs) == "table" then
      for k, v in pairs(prefs.catalogs) do all[k] = v end
    end
    all[key] = { cursor = state.cursor or "" }
    prefs.catalogs = all -- reassigned so LrPrefs saves it
    state.saved_cursor = state.cursor
  end
  if state.dirty then
    if save_pending(key, state.pending) then state.dirty = false end
  end
end

-- Add paths (a path already pending moves to the end: it was decided again). Keeps the newest
-- `max` (default LIMIT). @return how many old paths were dropped
function M.add_pending(state, paths, max)
  local out, dropped = pending_list.add(state.pending, paths, max or M.LIMIT)
  if out ~= state.pending then
    state.pending = out
    state.dirty = true
  end
  return dropped
end

function M.remove_pending(state, paths)
  local out, changed = pending_list.remove(state.pending, paths)
  if changed then
    state.pending = out
    state.dirty = true
  end
end

return M
