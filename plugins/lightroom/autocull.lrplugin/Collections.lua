--[[
  Collections.lua - the "AutoCull" collection set with the smart collections Keep, Review,
  Reject and Best of burst, built from the plug-in's own searchable fields (verdict,
  burstBest), so a photographer finds every keeper without a keyword in the keyword list.

  Collections.ensure(catalog, {force = bool, timeout = s}) -> status[, detail]
    "created", n      made n missing smart collections (and the set when it was missing)
    "exists"          all there already: nothing written, no undo step
    "kept"            made before in this catalog and not forced: left as the photographer
                      has them (deleted or renamed ones stay deleted)
    nil, "aborted"    the catalog stayed busy past the timeout: nothing made, try next time
  Automatic calls (after a cull or an apply) make the set once per catalog; the menu item
  "Create AutoCull collections" (force) makes again whatever is missing. Existing sets and
  collections are found by name (canReturnPrior), never duplicated, and never changed: a
  photographer who edits a rule keeps the edit. Names are not translated, because the name is
  how the set is found again (a translated name would duplicate it after a language switch).
  Runs its own withWriteAccessDo (one undo step "Create AutoCull collections"); must be
  called from an async task and outside any other write gate.
]]

local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"
local LrPrefs = import "LrPrefs"

local M = {}

M.SET_NAME = "AutoCull"
M.COLLECTIONS = {
  { name = "Keep", field = "verdict", value = "keep" },
  { name = "Review", field = "verdict", value = "review" },
  { name = "Reject", field = "verdict", value = "reject" },
  { name = "Best of burst", field = "burstBest", value = "yes" },
}
M.PREF_KEY = "collectionsMade" -- {[catalog path] = true}; not in Prefs.DEFAULTS (read with a default here)

-- Smart-collection rule "<plug-in field> contains <value>". Plug-in fields enter Lightroom's
-- search vocabulary as "sdktext:<toolkit id>.<field id>" (text fields, searchable = true);
-- "any" is the text operation "contains". The verdict words do not contain one another.
function M.search_desc(field, value)
  return {
    { criteria = "sdktext:" .. _PLUGIN.id .. "." .. field, operation = "any", value = value, value2 = "" },
    combine = "intersect",
  }
end

local function named(list, name)
  for _, x in ipairs(list or {}) do
    if x:getName() == name then return x end
  end
  return nil
end

-- The existing set (or nil) and the collections still missing from it. Reads only.
function M.missing(catalog)
  local set = named(catalog:getChildCollectionSets(), M.SET_NAME)
  local have = set and set:getChildCollections() or {}
  local missing = {}
  for _, spec in ipairs(M.COLLECTIONS) do
    if not named(have, spec.name) then missing[#missing + 1] = spec end
  end
  return set, missing
end

local function made_before(catalog)
  local made = LrPrefs.prefsForPlugin()[M.PREF_KEY]
  return type(made) == "table" and made[catalog:getPath()] == true
end

local function remember(catalog)
  local prefs = LrPrefs.prefsForPlugin()
  local made = {}
  if type(prefs[M.PREF_KEY]) == "table" then
    for k, v in pairs(prefs[M.PREF_KEY]) do made[k] = v end
  end
  made[catalog:getPath()] = true
  prefs[M.PREF_KEY] = made -- a new table: LrPrefs saves on assignment, not on nested edits
end

function M.ensure(catalog, opts)
  opts = opts or {}
  catalog = catalog or LrApplication.activeCatalog()
  if not opts.force and made_before(catalog) then return "kept" end
  local set, missing = M.missing(catalog)
  if set and #missing == 0 then
    remember(catalog)
    return "exists"
  end
  local status = catalog:withWriteAccessDo(LOC "$$$/AutoCull/Collections/Undo=Create AutoCull collections", function()
    -- canReturnPrior: a set or collection of that name made meanwhile is reused, not doubled
    local parent = set or catalog:createCollectionSet(M.SET_NAME, nil, true)
    for _, spec in ipairs(missing) do
      catalog:createSmartCollection(spec.name, M.search_desc(spec.field, spec.value), parent, true)
    end
  end, { timeout = opts.timeout or 10 })
  if status ~= "executed" then return nil, status end
  remember(catalog)
  return "created", #missing
end

-- The menu item: make whatever is missing, then say what happened.
function M.start()
  LrFunctionContext.postAsyncTaskWithContext("AutoCull collections", function(context)
    LrDialogs.attachErrorDialogToFunctionContext(context)
    local status = M.ensure(LrApplication.activeCatalog(), { force = true })
    if status == "created" then
      LrDialogs.message(LOC "$$$/AutoCull/Collections/Created=The AutoCull collections are ready",
                        LOC "$$$/AutoCull/Collections/CreatedInfo=Keep, Review, Reject and Best of burst are in the AutoCull collection set. They fill by themselves as AutoCull writes its verdicts.",
                        "info")
    elseif status == "exists" then
      LrDialogs.message(LOC "$$$/AutoCull/Collections/Exist=The AutoCull collections are already there",
                        LOC "$$$/AutoCull/Collections/ExistInfo=Look for the AutoCull collection set in the Collections panel.",
                        "info")
    else
      LrDialogs.message(LOC "$$$/AutoCull/Collections/Busy=The catalog was busy",
                        LOC "$$$/AutoCull/Collections/BusyInfo=The AutoCull collections were not made. Try again in a moment.",
                        "warning")
    end
  end)
end

return M
