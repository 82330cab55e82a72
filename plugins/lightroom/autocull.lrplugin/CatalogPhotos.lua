--[[
  CatalogPhotos.lua - the only module that reads photos from the catalog and writes to it.

  Reads: catalog:batchGetRawMetadata (path, isVirtualCopy, rating, pickStatus,
  colorNameForLabel, keywords), photo:checkPhotoAvailability(), and the plug-in's own
  bookkeeping fields (catalog:batchGetPropertyForPlugin).
  Writes: pick flag, stars, colour label and keywords under "AutoCull" (never included on
  export), in chunks, each chunk one catalog:withWriteAccessDo. What AutoCull wrote is recorded
  in the plug-in's fields INSIDE the same gate (lastWritten, appliedSignature, verdict, reasons,
  burst fields), so a write and its record succeed or fail together: an aborted gate leaves
  neither, and AutoCull's own marks are never later taken for the photographer's. Photos left
  alone because you rated them get AutoCull's opinion in the "opinion" field (never in
  verdict/burstBest, which feed the smart collections and hold only what AutoCull applied: a
  photographer's 5-star pick is never listed under AutoCull > Reject), in
  catalog:withPrivateWriteAccessDo (no undo step); when that gate is aborted nothing AutoCull
  wrote goes unrecorded, so it is only counted. Never develop settings, never files.

  Edit > Undo takes back a chunk's marks. Whether Lightroom also takes back plug-in fields set in
  that gate is not documented, so nothing relies on it: a photo counts as "already applied" only
  while its pick/rating/label still equal lastWritten (decision_map.still_applied); otherwise the
  decision is applied again, or, when the photo now carries the photographer's own marks, their
  marks are respected and the stale record is cleared.
]]

local LrDate = import "LrDate"

local map = require "decision_map"

local M = {}

M.RAW_KEYS = { "path", "isVirtualCopy", "rating", "pickStatus", "colorNameForLabel", "keywords" }
M.PROP_KEYS = { "lastWritten", "appliedSignature", "declinedSignature", "writtenSignature", "pendingWritten" }
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

-- The marks the photographer took back, from the plug-in fields: declinedSignature, or a
-- write whose record is gone. writtenSignature is set in a private gate after each written
-- chunk (private writes make no undo step); when an Edit > Undo also took back the fields of
-- the step (lastWritten/appliedSignature), writtenSignature still names what was written.
-- Both hold marks signatures (decision_map.marks_signature: verdict, pick, stars, label; older
-- versions stored full signatures), so they are compared by their marks.
--
-- When that private gate is aborted, writtenSignature lags one write behind (S1 while S2 was
-- written): alone it would look like an Undo of S2, and a later return to S1 would be skipped
-- though the photographer did nothing. So the write gate also sets pendingWritten (the marks
-- it wrote) and the private gate clears it: pendingWritten equal to appliedSignature means
-- "this write's private record is missing", not "undone". The write gate never touches
-- writtenSignature itself: if Lightroom's Undo restored the values a step replaced, it would
-- also wipe the private record of that write.
--   Undo keeps plug-in fields: lastWritten no longer matches the photo (record_changed).
--   Undo takes them back: appliedSignature and pendingWritten go back with the step,
--   writtenSignature (private) still names the undone write, so written ~= applied.
--   Both the private gate aborted AND Undo taking the fields back, before the next run
--   re-made the record (M.record, already applied): nothing unundoable names the write, so
--   that Undo cannot be told from no change.
function M.declined(p)
  local applied = map.marks_of(p.appliedSignature)
  local pending = map.marks_of(p.pendingWritten)
  if pending ~= nil and pending == applied then return map.marks_of(p.declinedSignature) end
  local written = map.marks_of(p.writtenSignature)
  if written ~= nil and written ~= applied then return written end
  return map.marks_of(p.declinedSignature)
end

-- The last write's private record is missing (see M.declined): the next private gate makes it.
function M.unconfirmed(p)
  local pending = map.marks_of(p.pendingWritten)
  return pending ~= nil and pending == map.marks_of(p.appliedSignature)
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
      unconfirmed = M.unconfirmed(p),
      current = {
        rating = r.rating,
        pick = map.pick_from_status(r.pickStatus),
        label = label_word(r.colorNameForLabel),
        keywords = keywords,
        last_written = map.parse_state(p.lastWritten),
        applied_signature = p.appliedSignature,
        declined_signature = M.declined(p),
      },
    }
  end
  return entries
end

-- Plug-in fields whose values Lightroom searches: the SDK limits searchable strings to 511 bytes.
M.SEARCHABLE_BYTES = 511

-- A field value as Lightroom takes it: strings cut to 511 bytes on a UTF-8 boundary, with an ellipsis.
function M.field_value(value)
  if type(value) ~= "string" then return value end
  return map.truncate_utf8(value, M.SEARCHABLE_BYTES)
end

-- AutoCull's keywords (and every parent up to the root) are never included on export: a client's
-- JPEG must not carry "AutoCull|Reject|Blurry". New ones are created with includeOnExport = false;
-- ones made by earlier versions with includeOnExport = true are found BEFORE the write gate
-- (a keyword made inside a gate is not available for access until it returns) and switched off
-- inside it (LrKeyword:setAttributes, SDK 3.0).
-- @return the existing keywords under the root (root included) that still export
function M.exporting_keywords(catalog)
  local out = {}
  local function walk(list, depth)
    for _, kw in ipairs(list or {}) do
      local attrs = kw:getAttributes() or {}
      if attrs.includeOnExport ~= false then out[#out + 1] = kw end
      if depth < 64 then walk(kw:getChildren(), depth + 1) end
    end
  end
  for _, kw in ipairs(catalog:getKeywords() or {}) do
    if kw:getName() == M.ROOT then walk({ kw }, 0) end
  end
  return out
end

-- Create (or find) the keyword for a full '|' path inside write access.
local function keyword_for(catalog, cache, full)
  if cache[full] then return cache[full] end
  local parent, sofar = nil, nil
  for _, part in ipairs(map.split_keyword(full)) do
    sofar = sofar and (sofar .. "|" .. part) or part
    local kw = cache[sofar]
    if not kw then
      -- createKeyword(keywordName, synonyms, includeOnExport, parent, returnExisting)
      kw = catalog:createKeyword(part, {}, false, parent, true)
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

-- The burst fields: id, "2 of 5", "yes" for the best frame; empty when the photo is in no burst.
function M.burst_fields(actions)
  local b = actions.burst or {}
  local id = type(b.id) == "string" and b.id or ""
  local rank = ""
  if id ~= "" and (tonumber(b.rank) or 0) > 0 and (tonumber(b.size) or 0) > 0 then
    rank = LOC("$$$/AutoCull/Field/BurstRankValue=^1 of ^2", tostring(b.rank), tostring(b.size))
  end
  return { burstId = id, burstRank = rank, burstBest = (id ~= "" and b.best) and "yes" or "" }
end

local function set(photo, plugin, field, value)
  photo:setPropertyForPlugin(plugin, field, M.field_value(value))
end

-- Why a photo was left alone, in the words of the "AutoCull opinion" field.
local NOT_APPLIED = {
  user_rated = LOC "$$$/AutoCull/Opinion/UserRated=you had rated, flagged or labelled it",
  changed_by_you = LOC "$$$/AutoCull/Opinion/ChangedByYou=you had taken back AutoCull's marks",
}

-- "reject — not applied: you had rated, flagged or labelled it"
function M.opinion_text(a)
  local why = NOT_APPLIED[a.skip_reason] or map.SKIP_TEXT[a.skip_reason] or tostring(a.skip_reason)
  return LOC("$$$/AutoCull/Opinion/Value=^1 \226\128\148 not applied: ^2", tostring(a.verdict), why)
end

-- Inside the chunk's withWriteAccessDo: the verdict the catalog now carries, and what AutoCull
-- wrote, so it is known as AutoCull's own. The verdict and burstBest fields feed the smart
-- collections (Keep/Review/Reject/Best of burst): they hold only what AutoCull applied.
local function record_written(photo, plugin, item, stamp)
  local a = item.actions
  set(photo, plugin, "verdict", a.verdict)
  set(photo, plugin, "opinion", nil)
  set(photo, plugin, "reasons", join_reasons(a.reasons))
  for field, value in pairs(M.burst_fields(a)) do set(photo, plugin, field, value) end
  set(photo, plugin, "lastWritten", map.state_string(map.after_state(item.entry.current, a)))
  set(photo, plugin, "appliedSignature", a.signature)
  set(photo, plugin, "appliedAt", stamp)
  set(photo, plugin, "declinedSignature", nil)
  -- confirmed (and cleared) by the private gate that follows; see M.declined
  set(photo, plugin, "pendingWritten", a.marks_signature)
end

-- A photo left alone (the photographer rated it, or took AutoCull's marks back): AutoCull's
-- opinion goes to the "opinion" field, never to verdict/burstBest, so the Reject collection
-- never lists a photographer's own pick. A verdict the catalog no longer carries is cleared.
local function record_left_alone(photo, plugin, a)
  set(photo, plugin, "verdict", nil)
  set(photo, plugin, "opinion", M.opinion_text(a))
  set(photo, plugin, "reasons", join_reasons(a.reasons))
  local burst = M.burst_fields(a)
  set(photo, plugin, "burstId", burst.burstId)
  set(photo, plugin, "burstRank", burst.burstRank)
  set(photo, plugin, "burstBest", "")
end

-- A photo that still carries what AutoCull applied (skipped as already applied): its fields
-- are brought up to date (reasons may have new words), the verdict stays.
local function record_still_applied(photo, plugin, a)
  set(photo, plugin, "verdict", a.verdict)
  set(photo, plugin, "opinion", nil)
  set(photo, plugin, "reasons", join_reasons(a.reasons))
  for field, value in pairs(M.burst_fields(a)) do set(photo, plugin, field, value) end
end

-- A record of marks the photo no longer carries (Edit > Undo, or the photographer changed them).
local function stale_record(current)
  return current.last_written ~= nil
     and not map.still_applied({ rating = current.rating, pick = current.pick, label = current.label,
                                 last_written = current.last_written }, nil, { write_keywords = false })
end

-- Bookkeeping in one private gate (no undo step): for photos left alone their opinion, and a
-- record the photographer changed is cleared (declinedSignature keeps what they took back);
-- for photos just written, writtenSignature (what an Undo cannot take back, see M.declined).
-- Its result is checked: "aborted" (or "queued", which this call never asks for) means the
-- fields were not updated; nothing AutoCull wrote is in them, so this is counted, not retried.
-- @return number of photos whose fields were not updated
function M.record(catalog, plugin, items, timeout, written)
  local todo = {}
  for _, item in ipairs(items) do
    local a = item.actions
    if (a.verdict and not a.error) or a.record_changed then todo[#todo + 1] = item end
  end
  written = written or {}
  if #todo == 0 and #written == 0 then return 0 end
  local status = catalog:withPrivateWriteAccessDo(function()
    for _, item in ipairs(todo) do
      local photo, a = item.entry.photo, item.actions
      if a.skip_reason == "already_applied" then
        record_still_applied(photo, plugin, a)
        if item.entry.unconfirmed then
          -- the private record of this write was aborted last time: make it now
          set(photo, plugin, "writtenSignature", a.marks_signature)
          set(photo, plugin, "pendingWritten", nil)
        end
      elseif a.verdict and not a.error then
        record_left_alone(photo, plugin, a)
      end
      if a.record_changed or stale_record(item.entry.current) then
        -- the photographer changed AutoCull's marks: the record and its verdict are gone
        set(photo, plugin, "lastWritten", nil)
        set(photo, plugin, "appliedSignature", nil)
        set(photo, plugin, "appliedAt", nil)
        set(photo, plugin, "verdict", nil)
        set(photo, plugin, "pendingWritten", nil)
      end
      if a.declined_signature ~= nil then
        set(photo, plugin, "declinedSignature", a.declined_signature)
        set(photo, plugin, "writtenSignature", nil)
      end
    end
    for _, item in ipairs(written) do
      set(item.entry.photo, plugin, "writtenSignature", item.actions.marks_signature)
      set(item.entry.photo, plugin, "pendingWritten", nil)
    end
  end, { timeout = timeout or 30 })
  if status ~= "executed" then return #todo + #written end
  return 0
end

-- True when at least one item will be written (not skipped).
function M.writes_any(items)
  for _, item in ipairs(items) do
    if not item.actions.skip then return true end
  end
  return false
end

-- Apply a list of {entry, actions, decision} items in chunks.
-- args = {catalog, plugin, undo_name, timeout, chunk_size, summary,
--         progress = function(done, total) -> keep_going (false = stop after this chunk)}
-- Every item is counted in args.summary (applied, skipped or failed). When a chunk's write is
-- aborted (the catalog stayed busy for the whole timeout) the run stops there: the photos of
-- that chunk and every later one are counted "write_busy" and listed in result.unwritten, so
-- no later chunk waits out the timeout again.
-- @return {written = n, stopped = bool, aborted = n, busy = bool, unwritten = {items},
--          fields_not_updated = n}
function M.apply(items, args)
  local catalog, summary = args.catalog, args.summary
  local size = math.max(1, tonumber(args.chunk_size) or 200)
  local timeout = tonumber(args.timeout) or 30
  local result = { written = 0, stopped = false, aborted = 0, busy = false, unwritten = {}, fields_not_updated = 0 }
  local cache = {}
  local stamp = LrDate.timeToW3CDate(LrDate.currentTime())
  local exporting = M.writes_any(items) and M.exporting_keywords(catalog) or {}
  local i = 1
  while i <= #items do
    local chunk, skipped, to_write = {}, {}, {}
    for j = i, math.min(i + size - 1, #items) do chunk[#chunk + 1] = items[j] end
    for _, item in ipairs(chunk) do
      if item.actions.skip then skipped[#skipped + 1] = item else to_write[#to_write + 1] = item end
    end
    local changed = {}
    local status = "executed"
    if #to_write > 0 then
      status = catalog:withWriteAccessDo(args.undo_name, function()
        for _, kw in ipairs(exporting) do kw:setAttributes { includeOnExport = false } end
        for k, item in ipairs(to_write) do
          changed[k] = write_one(catalog, cache, item.entry, item.actions)
          record_written(item.entry.photo, args.plugin, item, stamp)
        end
      end, { timeout = timeout })
    end
    if status ~= "executed" then
      -- nothing of this chunk was written; stop rather than wait out the timeout per chunk
      result.busy = true
      for j = i, #items do
        local item = items[j]
        if item.actions.skip then
          map.count(summary, item.decision, item.actions)
        else
          map.count_skip(summary, item.decision and item.decision.path, "write_busy")
          result.unwritten[#result.unwritten + 1] = item
        end
      end
      result.aborted = #result.unwritten
      break
    end
    for _, item in ipairs(skipped) do map.count(summary, item.decision, item.actions) end
    for k, item in ipairs(to_write) do
      map.count(summary, item.decision, item.actions)
      if not changed[k] then map.count_unchanged(summary) end
    end
    result.written = result.written + #to_write
    if #to_write > 0 then exporting = {} end -- switched off in this gate
    result.fields_not_updated = result.fields_not_updated + M.record(catalog, args.plugin, skipped, timeout, to_write)
    i = i + #chunk
    if args.progress and args.progress(i - 1, #items) == false and i <= #items then
      result.stopped = true
      break
    end
  end
  return result
end

return M
