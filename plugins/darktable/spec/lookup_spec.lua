-- Finding the photos of background decisions in a large library: by folder (film roll), not by
-- walking dt.database, whose every index is one SQL query in darktable (the fake counts them).
local F = require "spec.support.fakes"
local controller = require "lib/autocull/controller"
local ledger_mod = require "lib/autocull/ledger"
local decision_map = require "lib/autocull/decision_map"
local dt_image = require "lib/autocull/dt_image"

local FOLDERS, PER_FOLDER = 50, 100   -- 5,000 images

local function library(dt, sep)
  sep = sep or "/"
  local images = {}
  for f = 1, FOLDERS do
    local folder = string.format("%sphotos%sshoot %02d", sep == "/" and "/" or "D:\\", sep, f)
    for i = 1, PER_FOLDER do
      images[#images + 1] = dt.add_image(folder, string.format("img %03d.jpg", i), 1)
    end
  end
  return images
end

local function controller_for(dt, pages)
  local sys = F.system({ GetChanges = function(req) return 200, pages[req.cursor] end })
  local s = { unrated_rating = 1, respect_user_ratings = true, write_tags = true, poll_ms = 1,
              cursor_get = function() return "" end, cursor_set = function() end, client_id = "darktable:test" }
  return controller.new({
    dt = dt, sys = sys, json = F.json, map = decision_map,
    settings = function() return s end,
    notify = function(m) dt.print(m) end,
    progress = function() return { update = function() end, cancelled = function() return false end,
                                   finish = function() end } end,
    sleep = function() end,
    ledger = ledger_mod.open("/cfg/autocull-ledger.json", sys, F.json),
  })
end

describe("background results in a 5,000-image library", function()
  it("read only the film rolls of the decisions' folders: queries grow with those, not the library", function()
    local dt = F.darktable()
    local images = library(dt)
    local d = {}
    -- two pages: 60 photos of shoot 07, then 40 more of shoot 07 and 30 of shoot 42, plus one not in darktable
    for i = 1, 60 do d[#d + 1] = F.decision(images[6 * PER_FOLDER + i].path .. "/" .. images[6 * PER_FOLDER + i].filename, "keep") end
    local page2 = {}
    for i = 61, 100 do page2[#page2 + 1] = F.decision("/photos/shoot 07/" .. string.format("img %03d.jpg", i), "reject") end
    for i = 1, 30 do page2[#page2 + 1] = F.decision("/photos/shoot 42/" .. string.format("img %03d.jpg", i), "review") end
    page2[#page2 + 1] = F.decision("/elsewhere/new.jpg", "keep")
    local ctl = controller_for(dt, { [""] = { decisions = d, nextCursor = "c1", more = true },
                                     c1 = { decisions = page2, nextCursor = "c2", more = false } })
    dt.queries = 0
    local r = ctl:apply_background()
    assert.is_true(r.ok, r.message)
    assert.equals(1, r.counts.not_in_library)
    assert.equals(4, images[6 * PER_FOLDER + 1].rating)
    assert.equals(-1, images[6 * PER_FOLDER + 100].rating)
    assert.equals(2, images[41 * PER_FOLDER + 30].rating)
    assert.equals(1, images[41 * PER_FOLDER + 31].rating)       -- same folder, no decision: untouched
    assert.equals(1, images[1].rating)
    -- dt.films once (# + one per film), then # + one per image of the two folders read
    local bound = (1 + FOLDERS) + 2 * (1 + PER_FOLDER)
    assert.is_true(dt.queries <= bound, ("%d queries for %d wanted folders; bound %d"):format(dt.queries, 2, bound))
  end)

  it("walking dt.database instead costs a query per image of the library (what the count guards against)", function()
    local dt = F.darktable()
    library(dt)
    dt.queries = 0
    for i = 1, #dt.database do local _ = dt.database[i] end
    assert.equals(FOLDERS * PER_FOLDER + 1, dt.queries)
  end)
end)

describe("the lookup", function()
  it("finds Windows paths with the host's separator and a folder given with a trailing one", function()
    local dt = F.darktable()
    local images = library(dt, "\\")
    local lookup = dt_image.lookup(dt, "\\", function(have, image) return have or image end)
    local index = lookup.index_for({ "D:\\photos\\shoot 03\\img 005.jpg", { path = "D:\\photos\\shoot 04\\img 001.jpg" } })
    assert.equals(images[2 * PER_FOLDER + 5], index["D:\\photos\\shoot 03\\img 005.jpg"])
    assert.equals(images[3 * PER_FOLDER + 1], index["D:\\photos\\shoot 04\\img 001.jpg"])
    assert.is_nil(index["D:\\photos\\shoot 05\\img 001.jpg"])     -- folder not asked for: not read
  end)

  it("reads each folder once across pages, and keeps the original over a darktable duplicate", function()
    local dt = F.darktable()
    local original = dt.add_image("/p", "a.jpg", 1)
    local dup = dt.add_image("/p", "a.jpg", 1)
    rawset(dup._raw, "duplicate_index", 1)
    local lookup = dt_image.lookup(dt, "/", controller.prefer_original)
    dt.queries = 0
    assert.equals(original, lookup.index_for({ "/p/a.jpg" })["/p/a.jpg"])
    local first = dt.queries
    lookup.index_for({ "/p/a.jpg", "/p/b.jpg" })
    assert.equals(first, dt.queries)
  end)

  it("never imports: a photo darktable does not have stays missing", function()
    local dt = F.darktable()
    dt.add_image("/p", "a.jpg", 1)
    local index = dt_image.lookup(dt, "/", controller.prefer_original).index_for({ "/q/new.jpg", "/p/new.jpg" })
    assert.is_nil(index["/q/new.jpg"])
    assert.is_nil(index["/p/new.jpg"])
    assert.equals(0, dt.imports)
  end)
end)
