--[[
  autocull/controller.lua - the work behind every button, shortcut and event.

  Host-neutral flow, darktable objects only through dt_image.lua and the
  injected `dt` table, so busted drives it with a stand-in darktable and a
  stand-in daemon, and darktable-cli drives it headless (no dt.gui).

    cull(images)          StartJob (preset, taste profile) -> poll GetJob -> apply decisions (or nothing)
    teach(images)         SendFeedback with the photographer's own ratings (and the taste
                          profile of the preferences); says how far the taste model is trusted
    apply_background()    GetChanges pages -> apply to images in the library
    queue_import(image)   post-import-image: only remember the image
    flush_imports()       post-import-film or idle: one job for the whole queue

  Rule for every flow: when anything goes wrong before the decisions are in
  hand (daemon down, wrong token, job failed or cancelled) nothing is written.

  deps = {
    dt,                     -- darktable (or a stand-in)
    sys,                    -- autocull/system.lua table
    json,                   -- {encode, decode}
    map,                    -- decision_map (plugins/common)
    settings = function() -> {home, curl, preset, profile, respect_user_ratings, unrated_rating,
                              write_tags, poll_ms, timeout, cursor_get, cursor_set},
    notify = function(message),          -- dt.print
    progress = function(title) -> {update(fraction, text), cancelled(), finish()},
    sleep = function(ms),
    ledger,                  -- autocull/ledger.lua object
    log = function(message), -- dt.print_log
  }
]]

local daemon_state = require "lib/autocull/daemon_state"
local http = require "lib/autocull/http"
local dt_image = require "lib/autocull/dt_image"
local taste = require "lib/autocull/taste"
local notes_mod = require "lib/autocull/notes"
local sidecar_sync = require "lib/autocull/sidecar_sync"
local daemon_help = require "lib/autocull/daemon_help"

local M = {}
local C = {}
C.__index = C

local TERMINAL = { JOB_STATE_DONE = true, JOB_STATE_CANCELLED = true, JOB_STATE_FAILED = true }

function M.new(deps)
  local self = setmetatable({}, C)
  for k, v in pairs(deps) do self[k] = v end
  self.queue = {}
  self.queued = {}
  self.busy = false
  self.last_status = "idle"
  self.log = self.log or function() end
  return self
end

function C:sep()
  return self.sys.os == "windows" and "\\" or "/"
end

--- A session with the running daemon, or nil and a message.
function C:connect()
  local s = self.settings()
  local home, herr = daemon_state.home(self.sys.getenv, self.sys.os, s.home)
  if not home then return nil, "cannot find the AutoCull folder: " .. herr end
  local state, err = daemon_state.load(home, self.sys.os, self.sys.read_file, self.json.decode)
  if not state then return nil, daemon_help.explain(err) end
  return http.session({ host = state.host, port = state.http_port, token = state.token },
    self.sys, self.json, { curl = s.curl, timeout = s.timeout })
end

--- darktable duplicates share one file: a decision goes to the original
-- (duplicate_index 0, else the lowest), never to the photographer's other versions.
function M.prefer_original(have, image)
  if not have then return image end
  local a, b = tonumber(have.duplicate_index) or 0, tonumber(image.duplicate_index) or 0
  if b < a then return image end
  return have
end

local function err_text(err)
  if type(err) ~= "table" then return tostring(err) end
  if err.code == "unavailable" then return daemon_help.explain(err.message) end
  if err.code == "internal" then return err.message end
  if err.code == "unauthenticated" then
    return "the AutoCull daemon refused the token: restart darktable's AutoCull module or the daemon (" ..
      tostring(err.message) .. ")"
  end
  return tostring(err.message) .. " (" .. tostring(err.code) .. ")"
end
M.err_text = err_text

function C:say(message)
  self.last_status = message
  if self.notify then self.notify(message) end
  self.log("AutoCull: " .. message)
  return message
end

function C:fail(message)
  self:say(message)
  return { ok = false, message = message }
end

--- Options decision_map reads.
function C:map_opts()
  local s = self.settings()
  return {
    respect_user_ratings = s.respect_user_ratings ~= false,
    unrated_rating = s.unrated_rating,
    write_keywords = s.write_tags ~= false,
  }
end

--- What decision_map sees as the image's current state. An image still
-- carrying exactly what AutoCull last wrote (the ledger) is AutoCull's work,
-- not the photographer's: decision_map reads `autocull_wrote`.
function C:current_for_map(image)
  local cur = dt_image.current(self.dt, image)
  local path = dt_image.path(image, self:sep())
  if self.ledger and self.ledger:is_ours(path, dt_image.fingerprint(image)) then
    cur.autocull_wrote = true
  end
  return cur
end

--- The verdict tag is "<root>|Keep" etc. (the policy's keyword_root, as attached): remember the
-- root, so "show AutoCull's rejects" filters on the tag the photos really carry.
function C:learn_tag_root(verdict, keywords)
  if type(verdict) ~= "string" or type(keywords) ~= "table" then return end
  local suffix = "|" .. verdict:sub(1, 1):upper() .. verdict:sub(2)
  for _, k in ipairs(keywords) do
    if type(k) == "string" and #k > #suffix and k:sub(-#suffix) == suffix then
      local root = k:sub(1, -#suffix - 1)
      local s = self.settings()
      if s.tag_root_set and s.tag_root ~= root then s.tag_root_set(root) end
      return
    end
  end
end

--- Apply a list of decisions to the images they name.
-- @param by_path map path -> image (only these images are touched)
-- @param progress optional {update(fraction, text), cancelled()}: updated per image; when it says
--        cancelled, the images not yet written stay as they are (counts.cancelled is set)
function C:apply_decisions(decisions, by_path, progress)
  local counts = { applied = 0, unchanged = 0, skipped = 0, failed = 0, not_in_library = 0,
                   keep = 0, review = 0, reject = 0, user_rated = 0 }
  local opts = self:map_opts()
  local s = self.settings()
  local notes = {}
  local seen = { missing = {}, done = {} }
  for i, d in ipairs(decisions) do
    if progress and progress.cancelled() then
      counts.cancelled = #decisions - i + 1
      break
    end
    local image = by_path[d.path]
    if not image then
      counts.not_in_library = counts.not_in_library + 1
      if type(d.path) == "string" then seen.missing[#seen.missing + 1] = d.path end
    else
      seen.done[#seen.done + 1] = d.path
      local actions = self.map.actions(d, self:current_for_map(image), opts)
      if actions.error or actions.skip_reason == "no_decision" then
        counts.failed = counts.failed + 1
        notes[#notes + 1] = tostring(d.path) .. ": " .. tostring(actions.error or "no decision")
      elseif actions.skip then
        counts.skipped = counts.skipped + 1
        if actions.skip_reason == "user_rated" then counts.user_rated = counts.user_rated + 1 end
      else
        local wrote, changed = pcall(dt_image.apply, self.dt, image, actions)
        if not wrote then
          -- darktable failed half-way (stars and reject written, a tag not): what is there now is
          -- AutoCull's, so the ledger says so and the next run decides this image again
          if self.ledger then
            self.ledger:put(d.path, dt_image.fingerprint(image))
            self.ledger:save()
          end
          error(changed, 0)
        end
        -- the reasons last: a notes write also writes the sidecar, labels included
        local wrote_notes = s.write_notes ~= false and notes_mod.write(image, actions)
        sidecar_sync.after_writes(image, changed, wrote_notes)
        if #changed > 0 or wrote_notes then counts.applied = counts.applied + 1
        else counts.unchanged = counts.unchanged + 1 end
        if self.ledger then self.ledger:put(d.path, dt_image.fingerprint(image)) end
        local v = actions.verdict
        if counts[v] then counts[v] = counts[v] + 1 end
        self:learn_tag_root(v, actions.keywords)
      end
    end
    if progress then
      progress.update(i / #decisions, string.format("writing %d/%d", i, #decisions))
    end
  end
  if self.ledger then
    local ok, err = self.ledger:save()
    if not ok then self.log("AutoCull: cannot save its ledger: " .. tostring(err)) end
  end
  return counts, notes, seen
end

local function summary(counts)
  local parts = { string.format("%d keep, %d review, %d reject", counts.keep, counts.review, counts.reject) }
  local rated = counts.user_rated or 0
  if rated > 0 then
    parts[#parts + 1] = rated .. (rated == 1 and " photo" or " photos") .. " left alone because you had rated " ..
      (rated == 1 and "it" or "them")
  end
  local other = counts.skipped - rated
  if other > 0 then parts[#parts + 1] = other .. " skipped" end
  if counts.failed > 0 then parts[#parts + 1] = counts.failed .. " could not be read" end
  if counts.not_in_library > 0 then parts[#parts + 1] = counts.not_in_library .. " not in this library" end
  local pending = counts.pending or 0
  if pending > 0 then
    parts[#parts + 1] = pending .. (pending == 1 and " waiting for its photo" or " waiting for their photos") ..
      " to be imported"
  end
  local dropped = counts.pending_dropped or 0
  if dropped > 0 then
    parts[#parts + 1] = dropped .. " oldest waiting " .. (dropped == 1 and "result" or "results") ..
      " dropped (at most " .. tostring(counts.pending_max) .. " kept)"
  end
  if counts.cancelled then
    parts[#parts + 1] = "cancelled while writing: " .. counts.cancelled .. " not written"
  end
  return table.concat(parts, ", ")
end
M.summary = summary

--- Run one cull job over `images` and apply the result.
-- @return {ok, message, counts, decisions, job_id, cancelled}
function C:cull(images, title)
  if self.busy then return self:fail("AutoCull is already working: wait for it to finish") end
  if not images or #images == 0 then return self:fail("no images selected") end
  local by_path, paths = {}, {}
  for _, image in ipairs(images) do
    local p = dt_image.path(image, self:sep())
    if not by_path[p] then paths[#paths + 1] = p end
    by_path[p] = M.prefer_original(by_path[p], image)
  end
  local session, cerr = self:connect()
  if not session then return self:fail(cerr .. "; nothing was changed") end
  self.busy = true
  local ok, result = pcall(self._cull_session, self, session, paths, by_path, title)
  session:close()
  self.busy = false
  if not ok then return self:fail("AutoCull stopped: " .. tostring(result) .. "; nothing was changed") end
  return result
end

function C:_cull_session(session, paths, by_path, title)
  local s = self.settings()
  local request = { paths = paths }
  if s.preset and s.preset ~= "" then request.preset = s.preset end
  request.profile = taste.profile(s.profile)
  local job, err = session:call("StartJob", request)
  if job then
    self.jobs_started = (self.jobs_started or 0) + 1
    self.last_job_size = #paths
  end
  if not job then return self:fail("cannot start the cull: " .. err_text(err) .. "; nothing was changed") end
  local progress = self.progress and self.progress(title or string.format("AutoCull: %d images", #paths))
  local decisions, have = {}, 0
  local function collect(j)
    local from = tonumber(j.decisionsFrom) or 0
    for i, d in ipairs(j.decisions or {}) do decisions[from + i] = d end
    while decisions[have + 1] do have = have + 1 end
  end
  local function finish() if progress then progress.finish() end end
  collect(job)
  while true do
    local total = tonumber(job.total) or 0
    if progress then
      progress.update(total > 0 and (tonumber(job.done) or 0) / total or 0,
        string.format("%s %d/%d", tostring(job.stage or ""), tonumber(job.done) or 0, total))
    end
    if TERMINAL[job.state] and have >= (tonumber(job.decisionsTotal) or 0) then break end
    local stop = (progress and progress.cancelled()) or (self.dt.control and self.dt.control.ending)
    if stop and not TERMINAL[job.state] then
      session:call("CancelJob", { jobId = job.id })
      finish()
      local r = self:fail("cull cancelled; nothing was changed")
      r.cancelled = true
      r.job_id = job.id
      return r
    end
    if not TERMINAL[job.state] then self.sleep(s.poll_ms or 500) end
    local nxt, gerr = session:call("GetJob", { jobId = job.id, decisionsFrom = have })
    if not nxt then
      finish()
      return self:fail("lost the AutoCull daemon during the cull: " .. err_text(gerr) .. "; nothing was changed")
    end
    job = nxt
    collect(job)
  end
  if job.state == "JOB_STATE_FAILED" then
    finish()
    return self:fail("the cull failed: " .. tostring(job.message) .. "; nothing was changed")
  end
  if job.state == "JOB_STATE_CANCELLED" then
    finish()
    local r = self:fail("the cull was cancelled; nothing was changed")
    r.cancelled = true
    return r
  end
  -- the same background job shows the writing, and its cancel button stops it between images
  local ok, counts, notes = pcall(self.apply_decisions, self, decisions, by_path, progress)
  finish()
  if not ok then error(counts, 0) end
  for _, n in ipairs(notes) do self.log("AutoCull: " .. n) end
  local message = self:say("AutoCull: " .. summary(counts))
  return { ok = true, message = message, counts = counts, decisions = decisions, job_id = job.id,
           cancelled = counts.cancelled ~= nil or nil }
end

--- Send the photographer's own ratings of `images` to the daemon.
function C:teach(images)
  if not images or #images == 0 then return self:fail("no images selected") end
  local opts = self:map_opts()
  local items = {}
  for _, image in ipairs(images) do
    local cur = self:current_for_map(image)
    -- is_user_rated is false for AutoCull's own marks (autocull_wrote)
    if self.map.is_user_rated(cur, opts) then
      items[#items + 1] = self.map.feedback_item(dt_image.path(image, self:sep()), cur)
    end
  end
  if #items == 0 then
    return self:fail("none of these images carries a rating of yours: rate some first (stars, reject or a colour label)")
  end
  local session, cerr = self:connect()
  if not session then return self:fail(cerr) end
  local answer, err = session:call("SendFeedback",
    { items = items, source = "darktable", profile = taste.profile(self.settings().profile) })
  -- an untrusted model's message says which quality it must reach: the policy's line
  local min_quality
  if answer and type(answer.taste) == "table" and answer.taste.ready and not answer.taste.trusted then
    min_quality = taste.min_quality(session:call("GetPolicy", {}))
  end
  session:close()
  if not answer then return self:fail("cannot send your ratings: " .. err_text(err)) end
  local r = { ok = true, message = self:say(M.teach_text(answer, #items, min_quality)), sent = #items,
              answer = answer }
  return r
end

--- What teach says: ratings stored, photos still without a vector, the model and how far to trust it.
function M.teach_text(answer, sent, min_quality)
  local msg = string.format("AutoCull learned from %d ratings (%s stored so far)", sent,
    tostring(answer.totalLabels or answer.stored or sent))
  if (tonumber(answer.unknown) or 0) > 0 then
    msg = msg .. string.format("; %d have no CLIP vector yet: the daemon makes them in the background, then " ..
      "retrains the model (no need to cull them first)", tonumber(answer.unknown))
  end
  if type(answer.modelState) == "string" and answer.modelState ~= "" then msg = msg .. "; " .. answer.modelState end
  local quality = taste.quality(answer.taste, min_quality)
  if quality then msg = msg .. "; " .. quality end
  return msg
end

--- Fetch decisions the daemon made in the background (watched folders) and apply
-- those whose images are in this library.
function C:apply_background()
  if self.busy then return self:fail("AutoCull is already working: wait for it to finish") end
  local session, cerr = self:connect()
  if not session then return self:fail(cerr .. "; nothing was changed") end
  self.busy = true
  local progress = self.progress and self.progress("AutoCull: background results")
  -- whatever darktable raises while writing (a tag it cannot create, a locked library), the module
  -- stays usable: busy is reset, the background job ends and the session's token file goes
  local ok, result = pcall(self._apply_background_session, self, session, progress)
  session:close()
  self.busy = false
  if progress then progress.finish() end
  if not ok then
    return self:fail("AutoCull stopped while writing background results: " .. tostring(result) ..
      "; the results not written come again next time")
  end
  return result
end

-- The waiting list lives in the ledger file (per library); without a ledger, in memory.
function C:pending_store()
  if self.ledger and self.ledger.add_pending then return self.ledger end
  if not self.memory_pending then
    self.memory_pending = require("lib/autocull/ledger").open(nil, self.sys, self.json)
  end
  return self.memory_pending
end

local function add_counts(total, counts)
  for k, v in pairs(counts) do
    if type(v) == "number" then total[k] = (total[k] or 0) + v end
  end
end

--- The daemon's current decisions for `paths` (Decide, every page), or nil and a message.
function C:decide_paths(session, paths)
  local out, token = {}, ""
  for _ = 1, 10000 do
    local answer, err = session:call("Decide", { paths = paths, pageToken = token ~= "" and token or nil })
    if not answer then return nil, err_text(err) end
    for _, d in ipairs(answer.decisions or {}) do out[#out + 1] = d end
    token = type(answer.nextPageToken) == "string" and answer.nextPageToken or ""
    if token == "" then break end
  end
  return out
end

--- Results that waited for their photos: those in the library now get their CURRENT decision
-- (so a newer decision supersedes the waiting one) and stop waiting. The lookup reads each
-- folder once; a folder with no film roll costs nothing more.
-- @return counts, or nil and a message
function C:apply_pending(session, lookup, progress)
  local store = self:pending_store()
  local waiting = store:pending_paths()
  if #waiting == 0 then return {} end
  local index = lookup.index_for(waiting)
  local found = {}
  for _, p in ipairs(waiting) do if index[p] then found[#found + 1] = p end end
  if #found == 0 then return {} end
  local counts = {}
  for first = 1, #found, 500 do
    local batch = {}
    for i = first, math.min(first + 499, #found) do batch[#batch + 1] = found[i] end
    local decisions, err = self:decide_paths(session, batch)
    if not decisions then return nil, err end
    local c, _, seen = self:apply_decisions(decisions, index, progress)
    add_counts(counts, c)
    -- written, left alone or failed: no longer waiting; a path the daemon no longer knows goes too
    local settled, answered = {}, {}
    for _, d in ipairs(decisions) do answered[d.path] = true end
    for _, p in ipairs(seen.done) do settled[#settled + 1] = p end
    if not c.cancelled then
      for _, p in ipairs(batch) do if not answered[p] then settled[#settled + 1] = p end end
    end
    store:remove_pending(settled)
    store:save()
    if c.cancelled then counts.cancelled = c.cancelled; break end
  end
  return counts
end

function C:_apply_background_session(session, progress)
  local s = self.settings()
  local cursor = s.cursor_get and s.cursor_get() or ""
  local lookup = dt_image.lookup(self.dt, self:sep(), M.prefer_original)  -- only the decisions' folders are read
  local total = { applied = 0, unchanged = 0, skipped = 0, failed = 0, not_in_library = 0,
                  keep = 0, review = 0, reject = 0, user_rated = 0, pending_dropped = 0 }
  local store = self:pending_store()
  local function finish_counts()
    total.pending = #store:pending_paths()
    total.pending_max = require("lib/autocull/ledger").MAX_PENDING
    return total
  end
  local pending_counts, perr = self:apply_pending(session, lookup, progress)
  if not pending_counts then
    return self:fail("cannot fetch the current decisions of photos imported since: " .. perr ..
      "; they wait for the next time")
  end
  add_counts(total, pending_counts)
  if pending_counts.cancelled then
    local message = self:say("AutoCull background results: " .. summary(finish_counts()))
    return { ok = true, message = message, counts = total, cancelled = true }
  end
  local pages, failure = 0, nil
  while pages < 1000 do
    local answer, err = session:call("GetChanges", { cursor = cursor, limit = 500, clientId = s.client_id })
    if not answer then failure = err_text(err); break end
    local decisions = answer.decisions or {}
    if #decisions > 0 then
      local counts, _, seen = self:apply_decisions(decisions, lookup.index_for(decisions), progress)
      add_counts(total, counts)
      -- decided while not in this library: waits for the photo; decided again and applied: waits no more
      total.pending_dropped = total.pending_dropped + store:add_pending(seen.missing)
      store:remove_pending(seen.done)
      local saved, serr = store:save()
      if not saved then
        -- without the waiting list on disk the cursor must not move past these decisions
        failure = "cannot save the list of results waiting for their photos: " .. tostring(serr)
        break
      end
      -- cancelled within this page: the cursor stays before it, so the rest comes again next time
      if counts.cancelled then total.cancelled = counts.cancelled; break end
    end
    pages = pages + 1
    if answer.nextCursor and answer.nextCursor ~= "" then
      cursor = answer.nextCursor
      if s.cursor_set then s.cursor_set(cursor) end
    end
    if not answer.more then break end
  end
  if failure then
    return self:fail("cannot fetch background results: " .. failure ..
      (pages > 0 and "; pages before this one were applied" or "; nothing was changed"))
  end
  local message = self:say("AutoCull background results: " .. summary(finish_counts()))
  return { ok = true, message = message, counts = total }
end

--- post-import-image: only remember the image.
function C:queue_import(image)
  local p = dt_image.path(image, self:sep())
  if self.queued[p] then return end
  self.queued[p] = true
  self.queue[#self.queue + 1] = image
  self.last_queued = os.time()
end

--- Send the queued imports as one job.
function C:flush_imports()
  if #self.queue == 0 then return { ok = true, message = "nothing queued", counts = nil } end
  if self.busy then return { ok = false, message = "busy; the queue waits", deferred = true } end
  local images = self.queue
  self.queue, self.queued = {}, {}
  return self:cull(images, string.format("AutoCull: %d new images", #images))
end

--- One line about the daemon, for the module's status line.
function C:status()
  local session, cerr = self:connect()
  if not session then self.last_status = cerr; return { ok = false, message = cerr } end
  local answer, err = session:call("GetStatus", {})
  session:close()
  if not answer then
    local m = err_text(err)
    self.last_status = m
    return { ok = false, message = m }
  end
  local m = M.status_text(answer, self.settings())
  self.last_status = m
  return { ok = true, message = m, answer = answer }
end

--- The status lines: the daemon, CLIP, one line per taste profile, the profile this plugin uses.
function M.status_text(answer, s)
  local lines = { string.format("daemon %s: %s photos stored, %s jobs running", tostring(answer.version),
    tostring(answer.photosStored or 0), tostring(answer.jobsRunning or 0)) }
  if type(answer.clip) == "string" and answer.clip ~= "" then
    lines[#lines + 1] = string.format("%s (%s photos have a vector)", answer.clip, tostring(answer.embedded or 0))
  end
  for _, t in ipairs(type(answer.profiles) == "table" and answer.profiles or {}) do
    if type(t) == "table" then lines[#lines + 1] = taste.profile_line(t) end
  end
  if answer.tasteBusy then
    lines[#lines + 1] = "vectors are being made or a taste model trained in the background"
  end
  local profile = taste.profile(s and s.profile)
  if profile then
    lines[#lines + 1] = "this module teaches and culls with the taste profile '" .. profile .. "'"
  elseif type(answer.profiles) == "table" then
    lines[#lines + 1] = "this module teaches and culls with the daemon's active taste profile"
  end
  return table.concat(lines, "\n")
end

return M
