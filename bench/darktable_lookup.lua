--[[
  bench/darktable_lookup.lua - finding background decisions' photos in a 5,000-image darktable library:
  the old walk over dt.database against the plugin's film-roll lookup (lib/autocull/dt_image.lua lookup).

  Runs on the specs' fake darktable (plugins/darktable/spec/support/fakes.lua) with offset_cost on: each
  dt.database[i] / film[i] steps over the rows before it, as the SQL darktable 4.2 runs for it
  ("... ORDER BY id LIMIT 1 OFFSET i") makes SQLite do. It prints queries, seconds and the ratio; it asserts
  nothing about time (the specs assert the query count).

  Run from the repository root:  lua bench/darktable_lookup.lua [images] [folders]
]]

package.path = "plugins/darktable/?.lua;" .. package.path
local F = require "spec.support.fakes"
local dt_image = require "lib/autocull/dt_image"

local IMAGES = tonumber(arg and arg[1]) or 5000
local FOLDERS = tonumber(arg and arg[2]) or 50
local PER = math.floor(IMAGES / FOLDERS)

local function library()
  local dt = F.darktable({ offset_cost = true })
  for f = 1, FOLDERS do
    for i = 1, PER do dt.add_image(string.format("/photos/shoot %03d", f), string.format("img %04d.jpg", i), 1) end
  end
  return dt
end

-- one page of background decisions: every photo of one shoot
local wanted = {}
for i = 1, PER do wanted[#wanted + 1] = string.format("/photos/shoot %03d/img %04d.jpg", 7, i) end

local function prefer(have, image) return have or image end

local function old_walk(dt)
  local index = {}
  for i = 1, #dt.database do
    local image = dt.database[i]
    local p = dt_image.path(image, "/")
    index[p] = prefer(index[p], image)
  end
  return index
end

local function new_lookup(dt)
  return dt_image.lookup(dt, "/", prefer).index_for(wanted)
end

local function measure(name, fn)
  local dt = library()
  dt.queries = 0
  local t0 = os.clock()
  local index = fn(dt)
  local took = os.clock() - t0
  local found = 0
  for _, p in ipairs(wanted) do if index[p] then found = found + 1 end end
  print(string.format("%-22s %7d queries  %8.4f s  found %d/%d", name, dt.queries, took, found, #wanted))
  return took, dt.queries
end

print(string.format("%d images in %d folders, %d decisions in one folder", FOLDERS * PER, FOLDERS, #wanted))
local old_t, old_q = measure("walk dt.database", old_walk)
local new_t, new_q = measure("film-roll lookup", new_lookup)
print(string.format("old/new: %.1fx the time, %.1fx the queries", old_t / math.max(new_t, 1e-9), old_q / new_q))
