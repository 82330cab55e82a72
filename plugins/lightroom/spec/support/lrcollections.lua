--[[
  lrcollections.lua - collection sets and (smart) collections for the stand-in catalog,
  installed by lrsdk.lua (one line in sdk.new). Follows the SDK reference of LrCatalog,
  LrCollectionSet and LrCollection, and refuses what it refuses:
  - catalog:createCollectionSet(name, parent, canReturnPrior), createCollection(name, parent,
    canReturnPrior), createSmartCollection(name, searchDesc, parent, canReturnPrior) only
    inside a with...WriteAccessDo gate. With canReturnPrior the existing set/collection of that
    name in that parent is returned; without it a taken name raises here.
  - "The new collection set is not available for access until that function returns": an
    object made inside a write gate can be passed as a parent, but reading it (getName,
    getChildCollections, ...) before the gate returns raises.
  - searchDesc is one criterion {criteria, operation, value, value2} or a list of them with
    combine = "intersect" | "union". A plug-in field criterion is "sdktext:<toolkit id>.<field id>"
    and the field must be declared searchable in the metadata provider (Lightroom lists only
    searchable plug-in fields in the smart-collection vocabulary); text operations are
    any (contains), all, words, noneOf, beginsWith, endsWith.
  - smart collections are evaluated over the stand-in's photos (getPhotos), so a test sees what
    the photographer would find in them.
]]

local M = {}

local TEXT_OPERATIONS = { any = true, all = true, words = true, noneOf = true, beginsWith = true, endsWith = true }

function M.install(S)
  local C = S.catalog
  local root = { sets = {}, collections = {} }
  local pending = {}
  C.collection_root = root

  local function need_write(what)
    if not S.catalog_in_write() then
      error(what .. ": this call requires write access; wrap it in catalog:withWriteAccessDo", 3)
    end
  end
  local function readable(obj, what)
    if pending[obj] then
      error(what .. ": a collection or set is not available for access until the withWriteAccessDo that made it returns", 3)
    end
    if obj.deleted then error(what .. ": this object was deleted", 3) end
  end

  -- objects made inside a gate become readable once it returns
  for _, name in ipairs { "withWriteAccessDo", "withPrivateWriteAccessDo" } do
    local original = C[name]
    C[name] = function(...)
      local results = { pcall(original, ...) }
      if not S.catalog_in_write() then pending = {} end
      if not results[1] then error(results[2], 0) end
      return unpack(results, 2, table.maxn(results))
    end
  end

  local Set, Collection = {}, {}
  Set.__index, Collection.__index = Set, Collection

  local function container(parent, what)
    if parent == nil then return root end
    if getmetatable(parent) ~= Set or parent.deleted then
      error(what .. ": parent must be an LrCollectionSet (or nil for the top level)", 3)
    end
    return parent
  end

  local function find(list, name)
    for _, x in ipairs(list) do if x.name == name and not x.deleted then return x end end
    return nil
  end

  local function check_name(name, what)
    if type(name) ~= "string" or name == "" then error(what .. ": name must be a non-empty string", 3) end
  end

  local function check_criterion(c)
    if type(c) ~= "table" or type(c.criteria) ~= "string" or type(c.operation) ~= "string" then
      error("createSmartCollection: each criterion needs criteria and operation strings", 4)
    end
    local plugin, field = c.criteria:match("^sdktext:(.+)%.([%w_]+)$")
    if c.criteria:sub(1, 3) == "sdk" and not plugin then
      error("createSmartCollection: plug-in criteria are \"sdktext:<toolkit id>.<field id>\", got " .. c.criteria, 4)
    end
    if plugin then
      if plugin ~= S.plugin.id then error("createSmartCollection: unknown plug-in " .. plugin, 4) end
      local def = S.fields[field]
      if not def then error("createSmartCollection: plug-in field not declared: " .. field, 4) end
      if not def.searchable then
        error("createSmartCollection: plug-in field " .. field .. " is not searchable, so no smart collection can use it", 4)
      end
      if not TEXT_OPERATIONS[c.operation] then
        error("createSmartCollection: " .. c.operation .. " is not a text operation", 4)
      end
      if type(c.value) ~= "string" or c.value == "" then
        error("createSmartCollection: a text criterion needs a non-empty string value", 4)
      end
    end
  end

  local function check_search(desc)
    if type(desc) ~= "table" then error("createSmartCollection: searchDesc must be a table", 3) end
    if desc.criteria then
      check_criterion(desc)
      return
    end
    if #desc == 0 then error("createSmartCollection: searchDesc has no criteria", 3) end
    if desc.combine ~= "intersect" and desc.combine ~= "union" then
      error("createSmartCollection: a list of criteria needs combine = \"intersect\" or \"union\"", 3)
    end
    for _, c in ipairs(desc) do check_criterion(c) end
  end

  local function make(kind, name, parent, canReturnPrior, searchDesc)
    local where = container(parent, "LrCatalog:create" .. kind)
    local list = kind == "CollectionSet" and where.sets or where.collections
    local existing = find(list, name)
    if existing then
      if canReturnPrior then return existing end
      error("LrCatalog:create" .. kind .. ": '" .. name .. "' already exists here (pass canReturnPrior)", 3)
    end
    local obj
    if kind == "CollectionSet" then
      obj = setmetatable({ name = name, parent = parent, sets = {}, collections = {} }, Set)
    else
      obj = setmetatable({ name = name, parent = parent, smart = searchDesc ~= nil, search = searchDesc, photos = {} },
                         Collection)
    end
    list[#list + 1] = obj
    pending[obj] = true
    C.collection_log = C.collection_log or {}
    C.collection_log[#C.collection_log + 1] = { kind = kind, name = name }
    return obj
  end

  function C:createCollectionSet(name, parent, canReturnPrior)
    need_write("LrCatalog:createCollectionSet")
    check_name(name, "createCollectionSet")
    return make("CollectionSet", name, parent, canReturnPrior)
  end
  function C:createCollection(name, parent, canReturnPrior)
    need_write("LrCatalog:createCollection")
    check_name(name, "createCollection")
    return make("Collection", name, parent, canReturnPrior)
  end
  function C:createSmartCollection(name, searchDesc, parent, canReturnPrior)
    need_write("LrCatalog:createSmartCollection")
    check_name(name, "createSmartCollection")
    check_search(searchDesc)
    return make("SmartCollection", name, parent, canReturnPrior, searchDesc)
  end

  local function live(list)
    local out = {}
    for _, x in ipairs(list) do if not x.deleted then out[#out + 1] = x end end
    return out
  end
  function C:getChildCollectionSets() return live(root.sets) end
  function C:getChildCollections() return live(root.collections) end

  function Set:type() return "LrCollectionSet" end
  function Set:getName() readable(self, "LrCollectionSet:getName") return self.name end
  function Set:getParent() readable(self, "LrCollectionSet:getParent") return self.parent end
  function Set:getChildCollectionSets() readable(self, "LrCollectionSet:getChildCollectionSets") return live(self.sets) end
  function Set:getChildCollections() readable(self, "LrCollectionSet:getChildCollections") return live(self.collections) end
  function Set:getChildren()
    readable(self, "LrCollectionSet:getChildren")
    local out = live(self.sets)
    for _, c in ipairs(live(self.collections)) do out[#out + 1] = c end
    return out
  end
  function Set:delete()
    need_write("LrCollectionSet:delete")
    self.deleted = true
  end

  -- text matching the way the smart-collection operations read (case-insensitive)
  local function matches(c, photo)
    local plugin, field = c.criteria:match("^sdktext:(.+)%.([%w_]+)$")
    if not plugin then error("stand-in: only plug-in text criteria are evaluated, not " .. c.criteria) end
    local have = string.lower(tostring(photo.props[field] or ""))
    local want = string.lower(c.value)
    if c.operation == "any" then return have:find(want, 1, true) ~= nil end
    if c.operation == "noneOf" then return have:find(want, 1, true) == nil end
    if c.operation == "beginsWith" then return have:sub(1, #want) == want end
    if c.operation == "endsWith" then return want == "" or have:sub(-#want) == want end
    if c.operation == "all" or c.operation == "words" then
      for word in want:gmatch("%S+") do if not have:find(word, 1, true) then return false end end
      return true
    end
    return false
  end

  function Collection:type() return "LrCollection" end
  function Collection:getName() readable(self, "LrCollection:getName") return self.name end
  function Collection:getParent() readable(self, "LrCollection:getParent") return self.parent end
  function Collection:isSmartCollection() readable(self, "LrCollection:isSmartCollection") return self.smart end
  function Collection:getSearchDescription()
    readable(self, "LrCollection:getSearchDescription")
    return self.search
  end
  function Collection:setSearchDescription(desc)
    need_write("LrCollection:setSearchDescription")
    check_search(desc)
    self.search = desc
  end
  function Collection:delete()
    need_write("LrCollection:delete")
    self.deleted = true
  end
  function Collection:getPhotos()
    readable(self, "LrCollection:getPhotos")
    if not self.smart then return self.photos end
    local out = {}
    local list = self.search.criteria and { self.search } or self.search
    for _, p in ipairs(C.photos) do
      local hit = list.combine ~= "union"
      for _, c in ipairs(list) do
        local m = matches(c, p)
        if list.combine == "union" then hit = hit or m else hit = hit and m end
      end
      if hit then out[#out + 1] = p end
    end
    return out
  end
end

return M
