--[[
  CatalogPhotos.lua - the only module that reads photos from the catalog and writes to it.

  Reads: catalog:batchGetRawMetadata (path, isVirtualCopy, rating, pickStatus,
  colorNameForLabel, keywords), photo:checkPhotoAvailability(), and the plug-in's own
  bookkeeping fields (catalog:batchGetPropertyForPlugin).
  Writes: pick flag, stars, colour label and keywords under "AutoCull", in chunks, each
  chunk one catalog:withWriteAccessDo (one undo step); bookkeeping fields afterwards in
  catalog:withPrivateWriteAccessDo. Never develop settings, never files.
]]

local LrDate = import "LrDate"

local map = require "decision_map"

local M = {}

M.RAW_KEYS = { "path", "isVirtualCopy", "rating", "pickStatus", "colorNameForLabel", "keywords" }
M.PROP_KEYS = { "lastWritten", "appliedSignature" }
M.ROOT = "AutoCull"

local PICK_STATUS = { picked = 1, none = 0, rejected = -1 }

-- "AutoCull|Reject|Blurry" for an LrKeyword (walks up its parents).
function M.keyword_path(keyword)
  local parts = {}
  local k, guard = keyword, 0
  while k ~= nil and guard < 64 do
    table.insert(parts, 1, k:getName())
    k = k:getParent()
    guard = guard + 1
  end
  return map.join_keyword(parts)
end

local function label_word(name)
  if type(name) ~= "string" or name == "" then return "none" end
  return string.lower(name)
end

-- Read what each photo carries now.
-- @return list of entries {photo, path, virtual, missing, current, keyword_objects}
--   current is in decision_map's shape; keyword_objects maps full path -> LrKeyword
function M.read(catalog, photos, plugin)
  local raw = catalog:batchGetRawMetadata(photos, M.RAW_KEYS)
  local props = catalog:batchGetPropertyForPlugin(photos, plugin, M.PROP_KEYS) or {}
  local entries = {}
  for i, photo in ipairs(photos) do
    local r = raw[photo] or {}
    local p = props[photo] or {}
    local keywords, objects = {}, {}
    for _, kw in ipairs(r.keywords or {}) do
      local full = M.keyword_path(kw)
      keywords[#keywords + 1] = full
      objects[full] = kw
    end
    local virtual = r.isVirtualCopy == true
    local missing = false
    if not virtual then missing = not photo:checkPhotoAvailability() end
    entries[i] = {
      photo = photo,
      path = r.path,
      virtual = virtual,
      missing = missing,
      keyword_objects = objects,
      current = {
        rating = r.rating,
        pick = map.pick_from_status(r.pickStatus),
        label = label_word(r.colorNameForLabel),
        keywords = keywords,
        last_written = map.parse_state(p.lastWritten),
        applied_signature = p.appliedSignature,
      },
    }
  end
  return entries
end

-- Create (or find) the keyword for a full '|' path inside write access.
local function keyword_for(catalog, cache, full)
  if cache[full] then return cache[full] end
  local parent, sofar = nil, nil
  for _, part in ipairs(map.split_keyword(full)) do
    sofar = sofar and (sofar .. "|" .. part) or part
    local kw = cache[sofar]
    if not kw then
      kw = catalog:createKeyword(part, {}, true, parent, true)
      cache[sofar] = kw
    end
    parent = kw
  end
  return parent
end

-- Write one photo's actions. Must run inside catalog:withWriteAccessDo.
-- @return true when something changed
local function write_one(catalog, cache, entry, actions)
  local photo, cur = entry.photo, entry.current
  local changed = false
  if actions.pick ~= nil and actions.pick ~= (cur.pick or "none") then
    photo:setRawMetadata("pickStatus", PICK_STATUS[actions.pick])
    changed = true
  end
  if actions.rating ~= nil and actions.rating ~= (cur.rating or 0) then
    photo:setRawMetadata("rating", actions.rating > 0 and actions.rating or nil)
    changed = true
  end
  if actions.label ~= nil and actions.label ~= (cur.label or "none") then
    photo:setRawMetadata("colorNameForLabel", actions.label)
    changed = true
  end
  for _, full in ipairs(actions.remove_keywords or {}) do
    local kw = entry.keyword_objects[full]
    if kw then
      photo:removeKeyword(kw)
      changed = true
    end
  end
  local have = {}
  for _, full in ipairs(cur.keywords or {}) do have[full] = true end
  for _, full in ipairs(actions.keywords or {}) do
    if not have[full] then
      photo:addKeyword(keyword_for(catalog, cache, full))
      changed = true
    end
  end
  return changed
end

local function join_reasons(reasons)
  if type(reasons) ~= "table" then return "" end
  local out = {}
  for _, r in ipairs(reasons) do out[#out + 1] = tostring(r) end
  return table.concat(out, "; ")
end

-- Apply a list of {entry, actions, decision} items in chunks.
-- args = {catalog, plugin, undo_name, timeout, chunk_size, summary,
--         progress = function(done, total) -> keep_going (false = stop after this chunk)}
-- Every item is counted in args.summary (applied, skipped or failed).
-- @return {written = n, stopped = bool, aborted = n}
function M.apply(items, args)
  local catalog, summary = args.catalog, args.summary
  local size = math.max(1, tonumber(args.chunk_size) or 200)
  local result = { written = 0, stopped = false, aborted = 0 }
  local cache = {}
  local i = 1
  while i <= #items do
    local chunk = {}
    for j = i, math.min(i + size - 1, #items) do chunk[#chunk + 1] = items[j] end
    local to_write = {}
    for _, item in ipairs(chunk) do
      if item.actions.skip then
        map.count(summary, item.decision, item.actions)
      else
        to_write[#to_write + 1] = item
      end
    end
    local changed = {}
    local status = "executed"
    if #to_write > 0 then
      status = catalog:withWriteAccessDo(args.undo_name, function()
        for k, item in ipairs(to_write) do
          changed[k] = write_one(catalog, cache, item.entry, item.actions)
        end
      end, { timeout = args.timeout or 30 })
    end
    if status == "aborted" then
      for _, item in ipairs(to_write) do
        map.count_skip(summary, item.decision and item.decision.path, "write_busy")
      end
      result.aborted = result.aborted + #to_write
    else
      for k, item in ipairs(to_write) do
        map.count(summary, item.decision, item.actions)
        if not changed[k] then map.count_unchanged(summary) end
      end
      result.written = result.written + #to_write
      M.record(catalog, args.plugin, chunk, args.timeout)
    end
    i = i + #chunk
    if args.progress and args.progress(i - 1, #items) == false and i <= #items then
      result.stopped = true
      break
    end
  end
  return result
end

-- Bookkeeping: what AutoCull decided and wrote, in the plug-in's own fields.
function M.record(catalog, plugin, chunk, timeout)
  local stamp = LrDate.timeToW3CDate(LrDate.currentTime())
  catalog:withPrivateWriteAccessDo(function()
    for _, item in ipairs(chunk) do
      local a, photo = item.actions, item.entry.photo
      if a.verdict and not a.error then
        photo:setPropertyForPlugin(plugin, "verdict", a.verdict)
        photo:setPropertyForPlugin(plugin, "reasons", join_reasons(a.reasons))
        if not a.skip then
          photo:setPropertyForPlugin(plugin, "lastWritten",
                                     map.state_string(map.after_state(item.entry.current, a)))
          photo:setPropertyForPlugin(plugin, "appliedSignature", a.signature)
          photo:setPropertyForPlugin(plugin, "appliedAt", stamp)
        end
      end
    end
  end, { timeout = timeout or 30 })
end

return M
