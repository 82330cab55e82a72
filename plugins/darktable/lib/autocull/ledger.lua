--[[
  autocull/ledger.lua - what AutoCull itself last wrote on each image.

  darktable keeps no "who set this rating" record, and a reject even wipes the
  stars. Without a memory of its own writes, a second run would take every
  image AutoCull had rated or rejected for the photographer's own work and
  leave it alone forever (or, worse, teach the daemon its own guesses as the
  photographer's taste). The ledger stores, per image path, the rating and
  colour labels AutoCull left; when the image still carries exactly that, it is
  AutoCull's work and may be decided again. Any difference means the
  photographer touched it, and it is theirs.

  The same file keeps the background results still waiting for their photos ("pending"):
  paths the daemon decided (GetChanges) while they were not in this library, oldest first.
  Each "apply background results" looks them up again and applies the CURRENT decision
  (Decide) to those imported since. It is kept here, beside the ledger, because both belong
  to the library of this config folder, as the changes cursor (darktable's preferences) does.
  At most MAX_PENDING paths (a folder that is never imported cannot grow the file forever);
  the summary says when the oldest were dropped.

  One JSON file: {"version": 1, "images": {"<path>": {"rating": r, "labels": bits}},
                  "pending": ["<path>", ...]}.
]]

local pending_list = require "lib/autocull/pending"

local M = {}
M.MAX_PENDING = pending_list.LIMIT
local Ledger = {}
Ledger.__index = Ledger

function M.open(path, sys, json)
  local self = setmetatable({ path = path, sys = sys, json = json, images = {}, pending = {}, dirty = false },
    Ledger)
  local text = path and sys.read_file(path)
  if text and text ~= "" then
    local ok, data = pcall(json.decode, text)
    if ok and type(data) == "table" and type(data.images) == "table" then
      self.images = data.images
    end
    if ok and type(data) == "table" and type(data.pending) == "table" then
      for _, p in ipairs(data.pending) do
        if type(p) == "string" then self.pending[#self.pending + 1] = p end
      end
    end
  end
  return self
end

function Ledger:get(image_path)
  return self.images[image_path]
end

function Ledger:put(image_path, fingerprint)
  self.images[image_path] = { rating = fingerprint.rating, labels = fingerprint.labels }
  self.dirty = true
end

function Ledger:forget(image_path)
  if self.images[image_path] then
    self.images[image_path] = nil
    self.dirty = true
  end
end

--- True when the image still carries exactly what AutoCull wrote.
function Ledger:is_ours(image_path, fingerprint)
  local e = self.images[image_path]
  return e ~= nil and e.rating == fingerprint.rating and e.labels == fingerprint.labels
end

--- Paths waiting for their photos, oldest first (a copy).
function Ledger:pending_paths()
  local out = {}
  for i, p in ipairs(self.pending) do out[i] = p end
  return out
end

--- Add paths (one already waiting moves to the end: it was decided again). Keeps the newest
-- `max` (default MAX_PENDING). @return how many of the oldest were dropped
function Ledger:add_pending(paths, max)
  local out, dropped = pending_list.add(self.pending, paths, max or M.MAX_PENDING)
  if out ~= self.pending then
    self.pending = out
    self.dirty = true
  end
  return dropped
end

function Ledger:remove_pending(paths)
  local out, changed = pending_list.remove(self.pending, paths)
  if changed then
    self.pending = out
    self.dirty = true
  end
end

function Ledger:save()
  if not self.dirty or not self.path then return true end
  -- Written beside and renamed over, so a crash never leaves half a ledger. (A lost
  -- ledger is safe anyway: AutoCull's marks then look like the photographer's and stay.)
  local text = self.json.encode({ version = 1, images = self.images, pending = self.pending })
  local tmp = self.path .. ".new"
  local ok, err = self.sys.write_file(tmp, text)
  if ok and self.sys.rename then
    ok, err = self.sys.rename(tmp, self.path)
    if not ok then
      self.sys.remove(self.path)          -- Windows cannot rename over an existing file
      ok, err = self.sys.rename(tmp, self.path)
    end
  elseif ok then
    ok, err = self.sys.write_file(self.path, text)
    self.sys.remove(tmp)
  end
  if ok then self.dirty = false end
  return ok, err
end

return M
