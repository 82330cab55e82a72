local F = require "spec.support.fakes"
local controller = require "lib/autocull/controller"
local ledger_mod = require "lib/autocull/ledger"
local decision_map = require "lib/autocull/decision_map"

local SHOOT = "/photos/2024 wedding"

local function setup(handlers, sysopts, settings)
  local dt = F.darktable()
  local sys = F.system(handlers, sysopts)
  local progress_log = { cancel = false, finished = 0, updates = 0 }
  local s = { unrated_rating = 1, respect_user_ratings = true, write_tags = true, poll_ms = 1 }
  for k, v in pairs(settings or {}) do s[k] = v end
  local ctl = controller.new({
    dt = dt, sys = sys, json = F.json, map = decision_map,
    settings = function() return s end,
    notify = function(m) dt.print(m) end,
    progress = function(title)
      progress_log.title = title
      return {
        update = function() progress_log.updates = progress_log.updates + 1 end,
        cancelled = function() return progress_log.cancel end,
        finish = function() progress_log.finished = progress_log.finished + 1 end,
      }
    end,
    sleep = function(ms) dt.control.sleep(ms) end,
    ledger = ledger_mod.open("/cfg/autocull-ledger.json", sys, F.json),
  })
  return ctl, dt, sys, progress_log, s
end

local function shoot(dt)
  return {
    sharp = dt.add_image(SHOOT, "a.jpg", 1),
    blurry = dt.add_image(SHOOT, "b blurred é.jpg", 1),
    soso = dt.add_image(SHOOT, "c 'quoted'.jpg", 1),
    mine = dt.add_image(SHOOT, "d mine.jpg", 4),   -- rated by the photographer
  }
end

--- A daemon whose job runs for `polls` GetJob calls, then answers `decisions`.
local function job_daemon(decisions, polls, final_state)
  local n = 0
  local function job(state, from)
    local out = {}
    if state == "JOB_STATE_DONE" then
      for i = from + 1, #decisions do out[#out + 1] = decisions[i] end
    end
    return { id = "j1", state = state, stage = state == "JOB_STATE_DONE" and "done" or "analyzing",
             done = state == "JOB_STATE_DONE" and #decisions or 0, total = #decisions, decisions = out,
             decisionsFrom = from, decisionsTotal = state == "JOB_STATE_DONE" and #decisions or 0,
             message = final_state == "JOB_STATE_FAILED" and "the store is locked" or "" }
  end
  return {
    StartJob = function() return 200, job("JOB_STATE_RUNNING", 0) end,
    GetJob = function(req)
      n = n + 1
      if n < (polls or 2) then return 200, job("JOB_STATE_RUNNING", req.decisionsFrom or 0) end
      return 200, job(final_state or "JOB_STATE_DONE", req.decisionsFrom or 0)
    end,
    CancelJob = function(req) return 200, job("JOB_STATE_CANCELLED", 0) end,
  }
end

local function decisions_for(img)
  return {
    F.decision(SHOOT .. "/a.jpg", "keep"),
    F.decision(SHOOT .. "/b blurred é.jpg", "reject"),
    F.decision(SHOOT .. "/c 'quoted'.jpg", "review"),
    F.decision(SHOOT .. "/d mine.jpg", "reject"),
  }
end

describe("auto-cull selected", function()
  it("starts one job with every path, polls it and applies stars, reject, labels and tags", function()
    local ctl, dt, sys, prog = setup(job_daemon(decisions_for(), 3))
    local img = shoot(dt)
    local r = ctl:cull({ img.sharp, img.blurry, img.soso, img.mine })
    assert.is_true(r.ok, r.message)
    local start = sys.calls_to("StartJob")
    assert.equals(1, #start)
    assert.same({ SHOOT .. "/a.jpg", SHOOT .. "/b blurred é.jpg", SHOOT .. "/c 'quoted'.jpg", SHOOT .. "/d mine.jpg" },
      start[1].request.paths)
    assert.equals(3, #sys.calls_to("GetJob"))
    assert.equals(4, img.sharp.rating)
    assert.equals(-1, img.blurry.rating)
    assert.is_true(img.blurry.red)
    assert.equals(2, img.soso.rating)
    assert.is_true(img.soso.yellow)
    assert.same({ "darktable|format|jpg", { name = "AutoCull|Reject" }, { name = "AutoCull|Reject|Blurry" } },
      { dt.tags.get_tags(img.blurry)[1].name, dt.tags.get_tags(img.blurry)[2], dt.tags.get_tags(img.blurry)[3] })
    assert.equals(1, prog.finished)
    assert.equals(1, r.counts.keep)
    assert.equals(1, r.counts.reject)
    assert.equals(1, r.counts.review)
  end)

  it("writes the stars before the reject (a reject wipes the stars in darktable)", function()
    local ctl, dt = setup(job_daemon({ F.decision(SHOOT .. "/b blurred é.jpg", "reject") }, 1))
    local img = shoot(dt)
    ctl:cull({ img.blurry })
    local ratings = {}
    for _, w in ipairs(dt.writes) do
      if w.field == "rating" then ratings[#ratings + 1] = w.value end
    end
    -- the decision's stars (0) first, then the reject; then the reject once more, unchanged: that
    -- write makes darktable write the sidecar with the labels (autocull/sidecar_sync.lua)
    assert.same({ 0, -1, -1 }, ratings)
  end)

  it("leaves an image the photographer rated completely untouched", function()
    local ctl, dt = setup(job_daemon(decisions_for(), 1))
    local img = shoot(dt)
    img.mine.blue = true
    dt.writes = {}
    local r = ctl:cull({ img.sharp, img.blurry, img.soso, img.mine })
    for _, w in ipairs(dt.writes) do assert.are_not.equal("d mine.jpg", w.image) end
    assert.equals(4, img.mine.rating)
    assert.equals(1, r.counts.skipped)
  end)

  it("treats darktable's initial import rating as unrated", function()
    local ctl, dt = setup(job_daemon({ F.decision(SHOOT .. "/a.jpg", "keep") }, 1), nil, { unrated_rating = 1 })
    local img = shoot(dt)
    ctl:cull({ img.sharp })
    assert.equals(4, img.sharp.rating)
  end)

  it("overwrites user ratings only when the preference says so", function()
    local ctl, dt = setup(job_daemon(decisions_for(), 1), nil, { respect_user_ratings = false })
    local img = shoot(dt)
    ctl:cull({ img.mine })
    assert.equals(-1, img.mine.rating)
  end)

  it("recognises its own marks on a second run and does not count them as the photographer's", function()
    local ctl, dt, sys = setup(job_daemon(decisions_for(), 1))
    local img = shoot(dt)
    ctl:cull({ img.sharp, img.blurry, img.soso, img.mine })
    assert.is_truthy(sys.files["/cfg/autocull-ledger.json"])
    -- a new controller reads the saved ledger (darktable restarted)
    local ctl2, _, sys2 = setup(job_daemon(decisions_for(), 1))
    sys2.files["/cfg/autocull-ledger.json"] = sys.files["/cfg/autocull-ledger.json"]
    ctl2.ledger = ledger_mod.open("/cfg/autocull-ledger.json", sys2, F.json)
    ctl2.dt = dt
    dt.writes = {}
    local r = ctl2:cull({ img.sharp, img.blurry, img.soso, img.mine })
    assert.equals(0, r.counts.applied)
    assert.equals(3, r.counts.unchanged)
    assert.equals(1, r.counts.skipped)
    assert.same({}, dt.writes)
  end)

  it("a photographer's change after AutoCull makes the image theirs", function()
    local ctl, dt = setup(job_daemon(decisions_for(), 1))
    local img = shoot(dt)
    ctl:cull({ img.sharp })
    img.sharp.rating = 2            -- the photographer disagrees
    local r = ctl:cull({ img.sharp })
    assert.equals(2, img.sharp.rating)
    assert.equals(1, r.counts.skipped)
  end)

  it("replaces its own stale tags and never touches the photographer's tags", function()
    local ctl, dt = setup(job_daemon({ F.decision(SHOOT .. "/a.jpg", "keep") }, 1))
    local img = shoot(dt)
    dt.tags.attach(dt.tags.create("AutoCull|Review"), img.sharp)
    dt.tags.attach(dt.tags.create("client|Smith"), img.sharp)
    ctl:cull({ img.sharp })
    local names = {}
    for _, t in ipairs(dt.tags.get_tags(img.sharp)) do names[#names + 1] = t.name end
    assert.same({ "darktable|format|jpg", "client|Smith", "AutoCull|Keep" }, names)
  end)

  it("counts files the daemon could not read and leaves them alone", function()
    local bad = F.decision(SHOOT .. "/a.jpg", "keep", { verdict = "VERDICT_UNSPECIFIED",
      error = { code = "CORRUPT", message = "truncated JPEG" } })
    local ctl, dt = setup(job_daemon({ bad }, 1))
    local img = shoot(dt)
    dt.writes = {}
    local r = ctl:cull({ img.sharp })
    assert.is_true(r.ok)
    assert.equals(1, r.counts.failed)
    assert.same({}, dt.writes)
    assert.matches("could not be read", r.message)
  end)

  it("ignores decisions for files it did not send", function()
    local ctl, dt = setup(job_daemon({ F.decision("/elsewhere/x.jpg", "reject") }, 1))
    local img = shoot(dt)
    local r = ctl:cull({ img.sharp })
    assert.equals(1, r.counts.not_in_library)
    assert.equals(1, img.sharp.rating)
  end)

  it("collects decisions that arrive over several polls (decisionsFrom)", function()
    local decisions = decisions_for()
    local n = 0
    local handlers = {
      StartJob = function() return 200, { id = "j", state = "JOB_STATE_RUNNING", decisions = {}, decisionsFrom = 0 } end,
      GetJob = function(req)
        n = n + 1
        local from = req.decisionsFrom
        if n == 1 then
          return 200, { id = "j", state = "JOB_STATE_RUNNING", decisions = { decisions[1] }, decisionsFrom = from,
                        decisionsTotal = 1 }
        end
        local rest = {}
        for i = from + 1, #decisions do rest[#rest + 1] = decisions[i] end
        return 200, { id = "j", state = "JOB_STATE_DONE", decisions = rest, decisionsFrom = from,
                      decisionsTotal = #decisions }
      end,
    }
    local ctl, dt, sys = setup(handlers)
    local img = shoot(dt)
    local r = ctl:cull({ img.sharp, img.blurry, img.soso, img.mine })
    assert.equals(4, #r.decisions)
    local gets = sys.calls_to("GetJob")
    assert.equals(0, gets[1].request.decisionsFrom)
    assert.equals(1, gets[2].request.decisionsFrom)
  end)
end)

describe("when something goes wrong nothing is written", function()
  it("daemon not running: a clear message", function()
    local ctl, dt = setup({}, { down = true })
    local img = shoot(dt)
    dt.writes = {}
    local r = ctl:cull({ img.sharp })
    assert.is_false(r.ok)
    assert.matches("not running", r.message)
    assert.matches("nothing was changed", r.message)
    assert.same({}, dt.writes)
  end)

  it("no state file: says how to start the daemon", function()
    local ctl, dt, sys = setup({})
    sys.files["/home/u/.ac/state.json"] = nil
    local r = ctl:cull({ shoot(dt).sharp })
    assert.is_false(r.ok)
    assert.matches("autocull serve", r.message)
  end)

  it("wrong token: says the daemon refused it", function()
    local ctl, dt = setup(job_daemon(decisions_for(), 1), { state_token = "stale" })
    local r = ctl:cull({ shoot(dt).sharp })
    assert.is_false(r.ok)
    assert.matches("refused the token", r.message)
  end)

  it("a failed job", function()
    local ctl, dt = setup(job_daemon(decisions_for(), 2, "JOB_STATE_FAILED"))
    local img = shoot(dt)
    dt.writes = {}
    local r = ctl:cull({ img.sharp, img.blurry })
    assert.is_false(r.ok)
    assert.matches("the store is locked", r.message)
    assert.same({}, dt.writes)
  end)

  it("cancel from darktable's job: CancelJob is sent and nothing applied", function()
    local ctl, dt, sys, prog = setup(job_daemon(decisions_for(), 5))
    local img = shoot(dt)
    dt.on_sleep = function() prog.cancel = true end
    dt.writes = {}
    local r = ctl:cull({ img.sharp, img.blurry })
    assert.is_true(r.cancelled)
    assert.equals(1, #sys.calls_to("CancelJob"))
    assert.equals("j1", sys.calls_to("CancelJob")[1].request.jobId)
    assert.same({}, dt.writes)
    assert.equals(1, prog.finished)
  end)

  it("darktable shutting down cancels the job too", function()
    local ctl, dt, sys = setup(job_daemon(decisions_for(), 5))
    local img = shoot(dt)
    dt.on_sleep = function() dt.control.ending = true end
    ctl:cull({ img.sharp })
    assert.equals(1, #sys.calls_to("CancelJob"))
  end)

  it("the daemon vanishing mid-job", function()
    local handlers = job_daemon(decisions_for(), 5)
    local ctl, dt, sys = setup(handlers)
    local img = shoot(dt)
    handlers.GetJob = function() error("unreachable") end
    dt.on_sleep = function() sys.files["/home/u/.ac/state.json"] = sys.files["/home/u/.ac/state.json"] end
    -- simulate a dead daemon: every further curl call fails to connect
    local popen = sys.popen_read
    local calls = 0
    sys.popen_read = function(cmd)
      calls = calls + 1
      if calls > 1 then return "AUTOCULL_HTTP 000 7\n" end
      return popen(cmd)
    end
    dt.writes = {}
    local r = ctl:cull({ img.sharp })
    assert.is_false(r.ok)
    assert.matches("lost the AutoCull daemon", r.message)
    assert.same({}, dt.writes)
  end)

  it("removes the private temporary folder after every flow", function()
    local ctl, dt, sys = setup(job_daemon(decisions_for(), 1))
    ctl:cull({ shoot(dt).sharp })
    for path in pairs(sys.files) do assert.is_nil(path:match("^/tmp/autocull")) end
  end)

  it("refuses a second cull while one runs", function()
    local ctl, dt = setup(job_daemon(decisions_for(), 1))
    ctl.busy = true
    local r = ctl:cull({ shoot(dt).sharp })
    assert.is_false(r.ok)
    assert.matches("already working", r.message)
  end)
end)

describe("teach from my ratings", function()
  it("sends only the photographer's own ratings, rejects as PICK_REJECTED", function()
    local ctl, dt, sys = setup({ SendFeedback = function(req)
      return 200, { stored = #req.items, totalLabels = 7, unknown = 0, modelState = "learning" } end })
    local img = shoot(dt)
    img.blurry.rating = -1
    img.soso.green = true
    local r = ctl:teach({ img.sharp, img.blurry, img.soso, img.mine })
    assert.is_true(r.ok, r.message)
    local req = sys.calls_to("SendFeedback")[1].request
    assert.equals("darktable", req.source)
    assert.equals(3, #req.items)
    local by = {}
    for _, it in ipairs(req.items) do by[it.path] = it end
    assert.same({ path = SHOOT .. "/d mine.jpg", rating = 4, pick = "PICK_NONE", colorLabel = "COLOR_LABEL_NONE" },
      by[SHOOT .. "/d mine.jpg"])
    assert.equals("PICK_REJECTED", by[SHOOT .. "/b blurred é.jpg"].pick)
    assert.equals("COLOR_LABEL_GREEN", by[SHOOT .. "/c 'quoted'.jpg"].colorLabel)
    assert.matches("7 stored", r.message)
  end)

  it("does not teach AutoCull its own guesses", function()
    local handlers = job_daemon(decisions_for(), 1)
    handlers.SendFeedback = function(req) return 200, { stored = #req.items } end
    local ctl, dt, sys = setup(handlers)
    local img = shoot(dt)
    ctl:cull({ img.sharp, img.blurry })
    local r = ctl:teach({ img.sharp, img.blurry, img.mine })
    assert.equals(1, r.sent)
  end)

  it("says so when nothing is rated", function()
    local ctl, dt, sys = setup({})
    local img = shoot(dt)
    local r = ctl:teach({ img.sharp })
    assert.is_false(r.ok)
    assert.matches("rate some first", r.message)
    assert.equals(0, #sys.calls)
  end)
end)

describe("the taste profile", function()
  local function feedback_daemon()
    local handlers = job_daemon({ F.decision(SHOOT .. "/a.jpg", "keep") }, 1)
    handlers.SendFeedback = function(req) return 200, { stored = #req.items, totalLabels = 1 } end
    return handlers
  end

  it("is left to the daemon when the preference is empty", function()
    local ctl, dt, sys = setup(feedback_daemon(), nil, { profile = "" })
    local img = shoot(dt)
    assert.is_true(ctl:cull({ img.sharp }).ok)
    assert.is_true(ctl:teach({ img.mine }).ok)
    assert.is_nil(sys.calls_to("StartJob")[1].request.profile)
    assert.is_nil(sys.calls_to("SendFeedback")[1].request.profile)
    assert.is_nil(sys.calls_to("SendFeedback")[1].body:find("profile", 1, true))
  end)

  it("is named in the cull job and in the feedback when set (trimmed)", function()
    local ctl, dt, sys = setup(feedback_daemon(), nil, { profile = " wedding  " })
    local img = shoot(dt)
    assert.is_true(ctl:cull({ img.sharp }).ok)
    assert.is_true(ctl:teach({ img.mine }).ok)
    assert.equals("wedding", sys.calls_to("StartJob")[1].request.profile)
    assert.equals("wedding", sys.calls_to("SendFeedback")[1].request.profile)
    assert.equals("darktable", sys.calls_to("SendFeedback")[1].request.source)
  end)
end)

describe("teach: how far to trust the taste model", function()
  local function taste(over)
    local t = { profile = "default", labels = 140, embedded = 140, ready = true, auc = 0.81, spearman = 0.4,
                needed = 0, trusted = true, sentence = "profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings" }
    for k, v in pairs(over or {}) do t[k] = v end
    return t
  end
  local function teach(answer, policy)
    local handlers = { SendFeedback = function(req)
      local a = { stored = #req.items, totalLabels = 140, unknown = 0, agreement = 0, compared = 0 }
      for k, v in pairs(answer) do a[k] = v end
      return 200, a
    end }
    if policy then handlers.GetPolicy = function() return 200, policy end end
    local ctl, dt, sys = setup(handlers)
    local r = ctl:teach({ shoot(dt).mine })
    assert.is_true(r.ok, r.message)
    return r.message, sys
  end

  it("a trained, trusted model: its cross-validated AUC, the rating count and 'trusted'", function()
    local m, sys = teach { modelState = "profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings",
                           taste = taste() }
    assert.matches("profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings", m, 1, true)
    assert.matches("model quality: AUC 0.81 (cross-validated) on 140 ratings, trusted: it counts in AutoCull's decisions",
      m, 1, true)
    assert.is_nil(m:find("not yet trusted", 1, true))
    assert.equals(0, #sys.calls_to("GetPolicy"))
  end)

  it("a trained model below the policy's line: not yet trusted, and the AUC it must reach", function()
    local m, sys = teach({ taste = taste { auc = 0.58, embedded = 40, trusted = false } },
      { values = { preference_min_quality = 0.65 } })
    assert.matches("model quality: AUC 0.58 (cross-validated) on 40 ratings, not yet trusted: it counts in decisions " ..
      "once its AUC reaches 0.65", m, 1, true)
    assert.equals(1, #sys.calls_to("GetPolicy"))
  end)

  it("a star model alone: Spearman, and the Spearman the same line asks for", function()
    local m = teach({ taste = taste { auc = 0, spearman = 0.2, embedded = 60, trusted = false } },
      { values = { preference_min_quality = 0.65 } })
    assert.matches("Spearman 0.20 (cross-validated) on 60 ratings, not yet trusted: it counts in decisions once its " ..
      "Spearman reaches 0.30", m, 1, true)
  end)

  it("an untrusted model when the policy cannot be read: names the policy key", function()
    local m = teach { taste = taste { auc = 0.58, trusted = false } }   -- no GetPolicy: 404
    assert.matches("once its quality reaches the policy's preference_min_quality", m, 1, true)
  end)

  it("no model yet: how many more ratings it needs; photos without a vector need no cull", function()
    local m, sys = teach { unknown = 3,
      modelState = "profile 'default': 12 ratings with an embedding, 8 more needed before a taste model is trained (minimum 20)",
      taste = taste { ready = false, auc = 0, spearman = 0, labels = 15, embedded = 12, needed = 8, trusted = false } }
    assert.matches("model quality: no model yet, 8 more ratings needed before one is trained", m, 1, true)
    assert.matches("3 have no CLIP vector yet: the daemon makes them in the background, then retrains the model " ..
      "(no need to cull them first)", m, 1, true)
    assert.is_nil(m:find("auto-cull them first", 1, true))
    assert.is_nil(m:find("model quality: AUC", 1, true))
    assert.equals(0, #sys.calls_to("GetPolicy"))
  end)

  it("an older daemon without taste: no quality sentence, nothing breaks", function()
    local m = teach { modelState = "learning" }
    assert.equals("AutoCull learned from 1 ratings (140 stored so far); learning", m)
  end)
end)

describe("check daemon", function()
  it("shows CLIP, one line per taste profile with whether it counts, and this module's profile", function()
    local ctl = setup({ GetStatus = function()
      return 200, { version = "0.2.0", photosStored = 42, jobsRunning = 0,
                    clip = "CLIP ViT-B-32/laion2b_s34b_b79k loaded", embedded = "40", tasteBusy = false,
                    profiles = {
                      { profile = "default", ready = true, trusted = true, auc = 0.81,
                        sentence = "profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings" },
                      { profile = "wedding", ready = true, trusted = false, auc = 0.6,
                        sentence = "profile 'wedding': taste model AUC 0.60 (cross-validated) on 30 ratings" },
                      { profile = "landscape", ready = false, needed = 8,
                        sentence = "profile 'landscape': 12 ratings with an embedding, 8 more needed" },
                    } }
    end }, nil, { profile = "wedding" })
    local r = ctl:status()
    assert.is_true(r.ok, r.message)
    assert.same({
      "daemon 0.2.0: 42 photos stored, 0 jobs running",
      "CLIP ViT-B-32/laion2b_s34b_b79k loaded (40 photos have a vector)",
      "taste: profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings (trusted: counts in decisions)",
      "taste: profile 'wedding': taste model AUC 0.60 (cross-validated) on 30 ratings (not yet trusted: left out of decisions)",
      "taste: profile 'landscape': 12 ratings with an embedding, 8 more needed",
      "this module teaches and culls with the taste profile 'wedding'",
    }, (function() local t = {} for l in r.message:gmatch("[^\n]+") do t[#t + 1] = l end return t end)())
  end)

  it("an older daemon: one line as before", function()
    local ctl = setup({ GetStatus = function() return 200, { version = "0.1.0", photosStored = 3, jobsRunning = 1 } end })
    assert.equals("daemon 0.1.0: 3 photos stored, 1 jobs running", ctl:status().message)
  end)
end)

describe("apply background results", function()
  it("pages through GetChanges, applies to images in the library and keeps the cursor", function()
    local pages = {
      [""] = { decisions = { F.decision(SHOOT .. "/a.jpg", "keep"), F.decision("/not/here.jpg", "keep") },
               nextCursor = "c1", more = true },
      c1 = { decisions = { F.decision(SHOOT .. "/b blurred é.jpg", "reject") }, nextCursor = "c2", more = false },
    }
    local saved
    local clients = {}
    local ctl, dt, sys = setup({ GetChanges = function(req)
        clients[#clients + 1] = req.clientId
        return 200, pages[req.cursor]
      end }, nil,
      { cursor_get = function() return "" end, cursor_set = function(c) saved = c end,
        client_id = "darktable:/home/me/.config/darktable" })
    local img = shoot(dt)
    local r = ctl:apply_background()
    assert.is_true(r.ok, r.message)
    assert.equals(4, img.sharp.rating)
    assert.equals(-1, img.blurry.rating)
    assert.equals(1, r.counts.not_in_library)
    assert.equals("c2", saved)
    assert.equals(2, #sys.calls_to("GetChanges"))
    assert.are.same({ "darktable:/home/me/.config/darktable", "darktable:/home/me/.config/darktable" }, clients)
  end)
end)

describe("background results for photos imported later", function()
  local LATER = "/photos/card 2"

  --- GetChanges answers `changes` once (cursor "" -> "c1"), then nothing new; Decide answers the
  -- daemon's CURRENT decision for each stored path it is asked about (`current`).
  local function daemon(changes, current)
    local h = {}
    function h.GetChanges(req)
      if req.cursor == "" then return 200, { decisions = changes, nextCursor = "c1", more = false } end
      return 200, { decisions = {}, nextCursor = req.cursor, more = false }
    end
    function h.Decide(req)
      local out = {}
      for _, p in ipairs(req.paths) do if current[p] then out[#out + 1] = current[p] end end
      return 200, { decisions = out, nextPageToken = "" }
    end
    return h
  end

  local function background_setup(handlers)
    local cursor = ""
    return setup(handlers, nil, { cursor_get = function() return cursor end,
                                  cursor_set = function(c) cursor = c end })
  end

  it("are kept until the photo is imported, then its current decision is applied", function()
    local changes = { F.decision(SHOOT .. "/a.jpg", "keep"), F.decision(LATER .. "/x.jpg", "reject") }
    -- since then the daemon decided x again (the photographer changed the policy): review
    local current = { [LATER .. "/x.jpg"] = F.decision(LATER .. "/x.jpg", "review") }
    local ctl, dt, sys = background_setup(daemon(changes, current))
    local img = shoot(dt)
    local r = ctl:apply_background()
    assert.is_true(r.ok, r.message)
    assert.equals(4, img.sharp.rating)
    assert.equals(1, r.counts.not_in_library)
    assert.matches("1 waiting for its photo to be imported", r.message)
    assert.same({ LATER .. "/x.jpg" }, F.json.decode(sys.files["/cfg/autocull-ledger.json"]).pending)
    assert.equals(0, #sys.calls_to("Decide"))      -- nothing was imported yet: nothing to ask

    local x = dt.add_image(LATER, "x.jpg", 1)      -- the photographer imports the card
    r = ctl:apply_background()
    assert.is_true(r.ok, r.message)
    assert.equals(1, #sys.calls_to("Decide"))
    assert.same({ LATER .. "/x.jpg" }, sys.calls_to("Decide")[1].request.paths)
    assert.equals(2, x.rating)                     -- the current decision, not the stale reject
    assert.is_true(x.yellow)
    assert.equals(1, r.counts.review)
    assert.equals(0, r.counts.pending)

    r = ctl:apply_background()                     -- applied once: no longer waiting
    assert.equals(1, #sys.calls_to("Decide"))
    assert.same({}, F.json.decode(sys.files["/cfg/autocull-ledger.json"]).pending)
  end)

  it("wait across darktable sessions (the list is in the ledger file)", function()
    local changes = { F.decision(LATER .. "/x.jpg", "reject") }
    local current = { [LATER .. "/x.jpg"] = F.decision(LATER .. "/x.jpg", "reject") }
    local ctl, dt, sys = background_setup(daemon(changes, current))
    ctl:apply_background()
    -- darktable restarts: a new controller, the ledger read again from its file
    local again = controller.new({ dt = dt, sys = sys, json = F.json, map = decision_map,
      settings = ctl.settings, ledger = ledger_mod.open("/cfg/autocull-ledger.json", sys, F.json) })
    local x = dt.add_image(LATER, "x.jpg", 1)
    local r = again:apply_background()
    assert.is_true(r.ok, r.message)
    assert.equals(-1, x.rating)
  end)

  it("a photo the daemon no longer knows stops waiting; folders not in the library cost no folder read", function()
    local changes = { F.decision(LATER .. "/x.jpg", "reject"), F.decision("/elsewhere/y.jpg", "keep"),
                      F.decision("/elsewhere/z.jpg", "keep") }
    local ctl, dt, sys = background_setup(daemon(changes, {}))
    shoot(dt)
    ctl:apply_background()
    dt.add_image(LATER, "x.jpg", 1)
    dt.queries = 0
    local r = ctl:apply_background()
    -- dt.films: its length and each film roll once (two), then the one film of LATER: length + 1 image
    assert.equals(1 + 2 + 2, dt.queries)
    assert.equals(1, #sys.calls_to("Decide"))
    assert.same({ LATER .. "/x.jpg" }, sys.calls_to("Decide")[1].request.paths)
    assert.equals(2, r.counts.pending)           -- y and z still wait; x is forgotten by the daemon
  end)

  it("the list has a large bound, and the summary says when the oldest were dropped", function()
    local old = ledger_mod.MAX_PENDING
    ledger_mod.MAX_PENDING = 2
    local changes = { F.decision("/a/1.jpg", "keep"), F.decision("/a/2.jpg", "keep"), F.decision("/a/3.jpg", "keep") }
    local ctl = background_setup(daemon(changes, {}))
    local ok, r = pcall(ctl.apply_background, ctl)
    ledger_mod.MAX_PENDING = old
    assert.is_true(ok, r)
    assert.equals(1, r.counts.pending_dropped)
    assert.matches("1 oldest waiting result dropped %(at most 2 kept%)", r.message)
    assert.is_true(old >= 100000)
  end)
end)

describe("apply background results when darktable fails mid-write", function()
  it("an error (a tag create failing) is reported, the job finished, and the next call works", function()
    local ctl, dt, sys, progress_log = setup({ GetChanges = function(req)
        return 200, { decisions = { F.decision(SHOOT .. "/b blurred é.jpg", "reject") }, nextCursor = "c1", more = false }
      end }, nil, { cursor_get = function() return "" end, cursor_set = function() end })
    local img = shoot(dt)
    local create = dt.tags.create
    dt.tags.create = function() error("database is locked") end
    local r = ctl:apply_background()
    assert.is_false(r.ok)
    assert.truthy(r.message:find("database is locked", 1, true), r.message)
    assert.is_false(ctl.busy)
    assert.equals(1, progress_log.finished)
    -- the session was closed: its private folder with the token is gone
    for path in pairs(sys.files) do assert.is_nil(path:match("^/tmp/autocull")) end
    dt.tags.create = create
    r = ctl:apply_background()
    assert.is_true(r.ok, r.message)
    assert.equals(2, progress_log.finished)
    assert.truthy(dt.tags.get_tags(img.blurry)[2], "the tags written on the second call")
  end)
end)

describe("auto-cull on import", function()
  it("post-import-image only queues; the flush sends one job for the whole import", function()
    local ctl, dt, sys = setup(job_daemon(decisions_for(), 1))
    local img = shoot(dt)
    ctl:queue_import(img.sharp)
    ctl:queue_import(img.blurry)
    ctl:queue_import(img.sharp)        -- the same image twice is queued once
    assert.equals(0, #sys.calls)
    local r = ctl:flush_imports()
    assert.is_true(r.ok)
    assert.equals(1, #sys.calls_to("StartJob"))
    assert.equals(2, #sys.calls_to("StartJob")[1].request.paths)
    assert.equals(0, #ctl.queue)
    assert.equals(-1, img.blurry.rating)
  end)

  it("an empty queue does nothing", function()
    local ctl, _, sys = setup({})
    assert.is_true(ctl:flush_imports().ok)
    assert.equals(0, #sys.calls)
  end)
end)

describe("the verdict tags' root", function()
  it("is learned from the tags a cull attaches (a policy with keyword_root 'Culling')", function()
    local d = F.decision(SHOOT .. "/b blurred é.jpg", "reject", { keywords = { "Culling|Reject", "Culling|Reject|Blurry" } })
    local learned
    local ctl, dt = setup(job_daemon({ d }, 1), nil, { tag_root_set = function(r) learned = r end })
    local img = shoot(dt)
    assert.is_true(ctl:cull({ img.blurry }).ok)
    local names = {}
    for _, t in ipairs(dt.tags.get_tags(img.blurry)) do names[#names + 1] = t.name end
    local want = learned .. "|Reject"
    assert.truthy(table.concat(names, ","):find(want, 1, true), table.concat(names, ",") .. " lacks " .. want)
  end)
end)

describe("darktable duplicates", function()
  it("a decision goes to the original only, never to the photographer's duplicates", function()
    local ctl, dt, sys = setup(job_daemon({ F.decision(SHOOT .. "/a.jpg", "reject") }, 1))
    local img = shoot(dt)
    local dup = dt.add_image(SHOOT, "a.jpg", 1)
    dup._raw.duplicate_index = 1
    img.sharp._raw.duplicate_index = 0
    local r = ctl:cull({ dup, img.sharp })
    assert.equals(1, #sys.calls_to("StartJob")[1].request.paths)
    assert.equals(-1, img.sharp.rating)
    assert.equals(1, dup.rating)
  end)
end)
