-- busted --lua=lua5.1 plugins/lightroom/spec : the AutoCull collection set, the tagset, the burst fields
local spec_dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "plugins/lightroom/spec"
local plugin_dir = spec_dir .. "/../autocull.lrplugin"
package.path = spec_dir .. "/support/?.lua;" .. plugin_dir .. "/?.lua;" .. package.path

local lrsdk = require "lrsdk"

local VERDICT = "sdktext:org.autocull.lightroom.verdict"
local BEST = "sdktext:org.autocull.lightroom.burstBest"

local function setup()
  local S = lrsdk.new { plugin_dir = plugin_dir }:install()
  local C = S.catalog
  C:_add_photo { path = "/p/keep.jpg", props = { verdict = "keep", burstId = "b1", burstRank = "1 of 2", burstBest = "yes" } }
  C:_add_photo { path = "/p/keep2.jpg", props = { verdict = "keep", burstId = "b1", burstRank = "2 of 2", burstBest = "" } }
  C:_add_photo { path = "/p/review.jpg", props = { verdict = "review" } }
  C:_add_photo { path = "/p/reject.jpg", props = { verdict = "reject" } }
  C:_add_photo { path = "/p/untouched.jpg" }
  return S, require "Collections"
end

-- run fn inside an async task, as the plug-in does, and return what it returned
local function in_task(S, fn)
  local out
  S.tasks.startAsyncTask(function() out = { fn() } end, "spec")
  S:run_tasks()
  assert.are.same({}, S.tasks.errors)
  return unpack(out)
end

local function names(list)
  local out = {}
  for _, x in ipairs(list) do out[#out + 1] = x:getName() end
  return out
end

local function paths(photos)
  -- the photos' own path, read as the SDK allows: from within a task
  local out = {}
  for _, p in ipairs(photos) do out[#out + 1] = p.raw.path end
  table.sort(out)
  return out
end

local function autocull_sets(S)
  local out = {}
  for _, s in ipairs(S.catalog:getChildCollectionSets()) do if s:getName() == "AutoCull" then out[#out + 1] = s end end
  return out
end

describe("the AutoCull collections", function()
  it("are one set with four smart collections on the plug-in fields, in one undo step", function()
    local S, Collections = setup()
    local status, n = in_task(S, function() return Collections.ensure(S.catalog) end)
    assert.are.equal("created", status)
    assert.are.equal(4, n)
    local sets = autocull_sets(S)
    assert.are.equal(1, #sets)
    local cols = sets[1]:getChildCollections()
    assert.are.same({ "Keep", "Review", "Reject", "Best of burst" }, names(cols))
    for _, c in ipairs(cols) do assert.is_true(c:isSmartCollection()) end
    local keep = cols[1]:getSearchDescription()
    assert.are.equal(VERDICT, keep[1].criteria)
    assert.are.equal("any", keep[1].operation)
    assert.are.equal("keep", keep[1].value)
    assert.are.equal(BEST, cols[4]:getSearchDescription()[1].criteria)
    -- what the photographer finds in them
    assert.are.same({ "/p/keep.jpg", "/p/keep2.jpg" }, paths(cols[1]:getPhotos()))
    assert.are.same({ "/p/review.jpg" }, paths(cols[2]:getPhotos()))
    assert.are.same({ "/p/reject.jpg" }, paths(cols[3]:getPhotos()))
    assert.are.same({ "/p/keep.jpg" }, paths(cols[4]:getPhotos()))
    assert.are.equal(1, #S.catalog.undo_steps)
    assert.are.equal("Create AutoCull collections", S.catalog.undo_steps[1].name)
  end)

  it("a second call changes nothing and writes nothing", function()
    local S, Collections = setup()
    in_task(S, function() return Collections.ensure(S.catalog) end)
    local status = in_task(S, function() return Collections.ensure(S.catalog) end)
    assert.are.equal("kept", status)
    assert.are.equal(1, #S.catalog.undo_steps)
    assert.are.equal(1, #autocull_sets(S))
    assert.are.equal(4, #autocull_sets(S)[1]:getChildCollections())
  end)

  it("finds a set made before (another install, prefs lost) by name instead of doubling it", function()
    local S, Collections = setup()
    in_task(S, function() return Collections.ensure(S.catalog) end)
    S.prefs.collectionsMade = nil
    local status = in_task(S, function() return Collections.ensure(S.catalog) end)
    assert.are.equal("exists", status)
    assert.are.equal(1, #S.catalog.undo_steps) -- no write, no undo step
    assert.are.equal(1, #autocull_sets(S))
  end)

  it("leaves a deleted collection deleted until the photographer asks, then remakes only it", function()
    local S, Collections = setup()
    in_task(S, function() return Collections.ensure(S.catalog) end)
    local reject = autocull_sets(S)[1]:getChildCollections()[3]
    S.catalog:withWriteAccessDo("Delete", function() reject:delete() end)
    assert.are.equal("kept", in_task(S, function() return Collections.ensure(S.catalog) end))
    assert.are.same({ "Keep", "Review", "Best of burst" }, names(autocull_sets(S)[1]:getChildCollections()))
    local status, n = in_task(S, function() return Collections.ensure(S.catalog, { force = true }) end)
    assert.are.equal("created", status)
    assert.are.equal(1, n)
    assert.are.equal(1, #autocull_sets(S))
    assert.are.same({ "Keep", "Review", "Best of burst", "Reject" }, names(autocull_sets(S)[1]:getChildCollections()))
  end)

  it("says aborted when the catalog stays busy, remembers nothing, and makes them next time", function()
    local S, Collections = setup()
    S.catalog.busy = true
    local status, why = in_task(S, function() return Collections.ensure(S.catalog, { timeout = 1 }) end)
    assert.is_nil(status)
    assert.are.equal("aborted", why)
    assert.are.same({}, autocull_sets(S))
    assert.is_nil(S.prefs.collectionsMade)
    S.catalog.busy = false
    assert.are.equal("created", in_task(S, function() return Collections.ensure(S.catalog) end))
  end)

  it("is remembered per catalog", function()
    local S, Collections = setup()
    in_task(S, function() return Collections.ensure(S.catalog) end)
    S.catalog_path = "/Users/me/Other.lrcat"
    -- the other catalog has its own record: its (here: shared stand-in) set is found by name
    assert.are.equal("exists", in_task(S, function() return Collections.ensure(S.catalog) end))
    assert.is_true(S.prefs.collectionsMade["/Users/me/Other.lrcat"])
  end)

  it("the menu item makes them and says so", function()
    local S = setup()
    S:run_menu("MenuCollections.lua")
    assert.are.equal(1, #autocull_sets(S))
    local log = S.dialogs.of_kind("message")
    assert.are.equal("The AutoCull collections are ready", log[#log].message)
    S:run_menu("MenuCollections.lua")
    log = S.dialogs.of_kind("message")
    assert.are.equal("The AutoCull collections are already there", log[#log].message)
  end)
end)

describe("the stand-in's collections refuse what Lightroom refuses", function()
  it("outside write access, on a field that is not searchable, and reading before the gate returns", function()
    local S = setup()
    local C = S.catalog
    assert.has_error(function() C:createCollectionSet("X", nil, true) end)
    C:withWriteAccessDo("t", function()
      assert.has_error(function()
        C:createSmartCollection("Y", { { criteria = "sdktext:org.autocull.lightroom.lastWritten", operation = "any",
                                         value = "x" }, combine = "intersect" }, nil, true)
      end)
      assert.has_error(function()
        C:createSmartCollection("Y", { { criteria = VERDICT, operation = "contains", value = "keep" },
                                       combine = "intersect" }, nil, true)
      end)
      local set = C:createCollectionSet("Z", nil, true)
      assert.has_error(function() set:getChildCollections() end)
      assert.are.equal(set, C:createCollectionSet("Z", nil, true))
      assert.has_error(function() C:createCollectionSet("Z", nil, false) end)
    end)
    assert.are.same({}, C:getChildCollectionSets()[1]:getChildCollections())
  end)
end)

describe("the metadata panel", function()
  it("declares the burst fields read-only, the searchable ones searchable, schema raised", function()
    local S = setup()
    local provider = dofile(plugin_dir .. "/MetadataDefinition.lua")
    assert.are.equal(4, provider.schemaVersion) -- 3: opinion, 4: pendingWritten
    local f = S.fields
    for _, id in ipairs { "burstId", "burstRank", "burstBest" } do
      assert.is_table(f[id], id)
      assert.is_true(f[id].readOnly, id)
      assert.are.equal("string", f[id].dataType, id)
    end
    assert.are.equal("AutoCull burst", f.burstId.title)
    assert.are.equal("AutoCull burst rank", f.burstRank.title)
    assert.are.equal("AutoCull best of burst", f.burstBest.title)
    assert.is_true(f.burstId.searchable and f.burstId.browsable)
    assert.is_true(f.burstBest.searchable and f.burstBest.browsable)
  end)

  it("has an AutoCull tagset with the verdict, reasons and burst fields, all declared", function()
    local S = setup()
    assert.are.equal("Tagset.lua", S.info.LrMetadataTagsetFactory)
    local tagset = dofile(plugin_dir .. "/" .. S.info.LrMetadataTagsetFactory)
    assert.matches("^[%a][%w]*$", tagset.id)
    assert.are.equal("AutoCull", tagset.title)
    local listed = {}
    for _, item in ipairs(tagset.items) do
      local name = type(item) == "table" and item[1] or item
      assert.is_string(name)
      local own = name:match("^org%.autocull%.lightroom%.(.+)$")
      if own then
        assert.is_table(S.fields[own], "tagset lists an undeclared field " .. own)
        listed[own] = true
      else
        assert.matches("^com%.adobe%.", name)
      end
      if name == "com.adobe.label" then assert.is_string(item.label) end
    end
    for _, id in ipairs { "verdict", "reasons", "burstId", "burstRank", "burstBest" } do
      assert.is_true(listed[id], id)
    end
  end)

  it("names LrShutdownApp so the poller can stop at quit", function()
    local S = setup()
    assert.are.equal("ShutdownApp.lua", S.info.LrShutdownApp)
  end)
end)
