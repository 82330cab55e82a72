--[[
  CatalogState.lua - what "Apply background results" remembers, per catalog.

  Kept in the plug-in's preferences (LrPrefs) under `catalogs`, keyed by the catalog file
  (LrCatalog:getPath), so two catalogs never share a cursor:
    cursor  - the GetChanges cursor: every decision before it was applied, or is pending
    pending - paths the daemon decided while they were not (yet) in this catalog, oldest first.
              Each run looks them up again; once a photo is in the catalog its CURRENT decision
              is fetched (Decide), so a newer decision always supersedes the one that was
              pending. At most MAX_PENDING paths per catalog: a folder that is never imported
              cannot grow the list forever; the oldest are dropped first (and logged).
  LrPrefs stores tables but may not notice changes deep inside one: the whole table is
  assigned again on every save (SDK: "You may need to reassign a table").
]]

local M = {}

M.MAX_PENDING = 2000

function M.key(catalog)
  local ok, path = pcall(function() return catalog:getPath() end)
  return (ok and type(path) == "string") and path or "unknown catalog"
end

local function copy_list(list)
  local out = {}
  for _, v in ipairs(type(list) == "table" and list or {}) do
    if type(v) == "string" then out[#out + 1] = v end
  end
  return out
end

-- This catalog's state: {cursor = string ("" = the daemon's saved cursor for this catalog), pending = {paths}}
function M.get(prefs, key)
  local all = type(prefs.catalogs) == "table" and prefs.catalogs or {}
  local mine = type(all[key]) == "table" and all[key] or {}
  return { cursor = type(mine.cursor) == "string" and mine.cursor or "", pending = copy_list(mine.pending) }
end

function M.put(prefs, key, state)
  local all = {}
  if type(prefs.catalogs) == "table" then
    for k, v in pairs(prefs.catalogs) do all[k] = v end
  end
  all[key] = { cursor = state.cursor or "", pending = copy_list(state.pending) }
  prefs.catalogs = all -- reassigned so LrPrefs saves it
end

-- Add paths (a path already pending moves to the end: it was decided again). Keeps the newest
-- MAX_PENDING. @return how many old paths were dropped
function M.add_pending(state, paths, max)
  max = max or M.MAX_PENDING
  local adding = {}
  for _, p in ipairs(paths) do adding[p] = true end
  local out = {}
  for _, p in ipairs(state.pending) do
    if not adding[p] then out[#out + 1] = p end
  end
  for _, p in ipairs(paths) do
    if adding[p] then
      out[#out + 1] = p
      adding[p] = nil
    end
  end
  local dropped = math.max(0, #out - max)
  if dropped > 0 then
    local kept = {}
    for i = dropped + 1, #out do kept[#kept + 1] = out[i] end
    out = kept
  end
  state.pending = out
  return dropped
end

function M.remove_pending(state, paths)
  local gone = {}
  for _, p in ipairs(paths) do gone[p] = true end
  local out = {}
  for _, p in ipairs(state.pending) do
    if not gone[p] then out[#out + 1] = p end
  end
  state.pending = out
end

return M
