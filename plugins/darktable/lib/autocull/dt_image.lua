--[[
  autocull/dt_image.lua - read and write one darktable image.

  The only module that touches a darktable image object. What darktable
  does, seen in darktable 4.2.1 (Lua API 9.0.0):
    * image.rating is 0..5, or -1 when the image is rejected. Setting -1 sets
      the reject flag AND overwrites the star bits: the stars are gone.
      So stars are written first and the reject last, and a rejected image
      reads back as "rejected", never with stars.
    * Setting -1 on a rejected image keeps it rejected (no toggle).
    * Five colour labels, each a boolean field: red yellow green blue purple.
    * Tags: darktable.tags.create("a|b|c") / attach / detach / get_tags.
]]

local M = {}

M.LABELS = { "red", "yellow", "green", "blue", "purple" }
M.TAG_ROOT = "AutoCull"

--- The image's full path as darktable knows it.
function M.path(image, sep)
  return image.path .. (sep or "/") .. image.filename
end

--- Colour labels set on the image, in darktable's order.
function M.labels(image)
  local out = {}
  for _, name in ipairs(M.LABELS) do
    if image[name] then out[#out + 1] = name end
  end
  return out
end

--- Names of the image's tags, darktable's own "darktable|..." tags left out.
function M.tag_names(dt, image)
  local out = {}
  for _, tag in ipairs(dt.tags.get_tags(image)) do
    local name = tag.name
    if name:sub(1, 10) ~= "darktable|" then out[#out + 1] = name end
  end
  return out
end

local function is_ours(name)
  return name == M.TAG_ROOT or name:sub(1, #M.TAG_ROOT + 1) == M.TAG_ROOT .. "|"
end
M.is_autocull_tag = is_ours

--- What the image carries now, in the shape decision_map reads:
-- {rating = 0..5 (nil when rejected), pick = "rejected"|"none", label = first label or "none",
--  labels = {...}, keywords = {...}}
function M.current(dt, image)
  local rating = image.rating
  local rejected = rating == -1 or rating == 6
  local labels = M.labels(image)
  return {
    rating = (not rejected) and rating or nil,
    rejected = rejected,
    pick = rejected and "rejected" or "none",
    label = labels[1] or "none",
    labels = labels,
    keywords = M.tag_names(dt, image),
  }
end

--- A compact fingerprint of what decides "did someone change this image":
-- rating (-1 = rejected) and the set of colour labels.
function M.fingerprint(image)
  local bits = 0
  for i, name in ipairs(M.LABELS) do
    if image[name] then bits = bits + 2 ^ (i - 1) end
  end
  return { rating = image.rating, labels = math.floor(bits) }
end

local function folder_of(path)
  return path:match("^(.*)[/\\][^/\\]*$")
end

local function trim_sep(folder)
  return (folder:gsub("[/\\]+$", ""))
end

--- Find library images by full path, reading only the film rolls of the wanted folders.
-- darktable answers each dt.database[i], film[i] and # with one query (an OFFSET scan), so walking
-- dt.database costs a query per image of the whole library, for every page of background results.
-- Here: dt.films is read once (one query per film roll), then only the films whose path is the folder
-- of a wanted photo, once each. Nothing is imported (dt.database.import would add missing photos).
-- @param sep the host's path separator; prefer(have, image) picks between darktable duplicates
-- @return lookup with lookup.index_for(paths_or_decisions) -> {full path -> image}, growing as folders are read
function M.lookup(dt, sep, prefer)
  local index, done, films = {}, {}, nil
  local self = { index = index }

  local function films_by_folder()
    if not films then
      films = {}
      for i = 1, #dt.films do
        local film = dt.films[i]
        local key = trim_sep(film.path)
        films[key] = films[key] or {}
        table.insert(films[key], film)
      end
    end
    return films
  end

  local function read_folder(folder)
    done[folder] = true
    for _, film in ipairs(films_by_folder()[trim_sep(folder)] or {}) do
      for i = 1, #film do
        local image = film[i]
        local key = M.path(image, sep)
        index[key] = prefer(index[key], image)
      end
    end
  end

  --- The index, with the folders of `items` (paths, or tables with .path) read.
  function self.index_for(items)
    for _, item in ipairs(items) do
      local path = type(item) == "table" and item.path or item
      local folder = type(path) == "string" and folder_of(path)
      if folder and not done[folder] then read_folder(folder) end
    end
    return index
  end

  return self
end

--- Apply host actions (from decision_map.actions) to one image.
-- Order matters: stars, then reject, then labels, then tags.
-- @return list of what changed (for logs and tests)
function M.apply(dt, image, actions)
  local changed = {}
  if actions.skip then return changed end
  local rating = actions.rating
  local pick = actions.pick
  if pick == "rejected" and image.rating == -1 then
    rating = nil   -- already rejected: stars are gone in darktable anyway, leave it be
  end
  if rating ~= nil then
    rating = math.max(0, math.min(5, math.floor(rating)))
    if image.rating ~= rating then
      image.rating = rating
      changed[#changed + 1] = "rating=" .. rating
    end
  end
  if pick == "rejected" then
    if image.rating ~= -1 then
      image.rating = -1
      changed[#changed + 1] = "rejected"
    end
  elseif pick == "none" or pick == "picked" then
    -- darktable has no pick flag: "picked" and "none" both mean "not rejected".
    if image.rating == -1 then
      image.rating = rating or 0
      changed[#changed + 1] = "unrejected"
    end
  end
  local label = actions.label
  if label ~= nil then
    for _, name in ipairs(M.LABELS) do
      local want = (name == label)
      if (image[name] and true or false) ~= want then
        image[name] = want
        changed[#changed + 1] = name .. "=" .. tostring(want)
      end
    end
  end
  local keywords = actions.keywords
  if keywords ~= nil then
    local wanted, remove = {}, {}
    for _, k in ipairs(keywords) do wanted[k] = true end
    for _, k in ipairs(actions.remove_keywords or {}) do remove[k] = true end
    local have = {}
    for _, tag in ipairs(dt.tags.get_tags(image)) do
      local name = tag.name
      have[name] = true
      -- AutoCull's own tags from an earlier decision that no longer holds.
      if is_ours(name) and not wanted[name] and (remove[name] or actions.remove_keywords == nil) then
        dt.tags.detach(tag, image)
        changed[#changed + 1] = "-" .. name
      end
    end
    for _, k in ipairs(keywords) do
      if not have[k] then
        dt.tags.attach(dt.tags.create(k), image)
        changed[#changed + 1] = "+" .. k
      end
    end
  end
  return changed
end

return M
