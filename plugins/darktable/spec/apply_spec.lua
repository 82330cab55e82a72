local F = require "spec.support.fakes"
local X = require "spec.support.host_extras"
local controller = require "lib/autocull/controller"
local ledger_mod = require "lib/autocull/ledger"
local decision_map = require "lib/autocull/decision_map"
local notes = require "lib/autocull/notes"
local daemon_help = require "lib/autocull/daemon_help"

local SHOOT = "/photos/2024 wedding"

local function setup(decisions, settings, progress_log)
  local dt = X.darktable()
  local n = 0
  local sys = F.system({
    StartJob = function() return 200, { id = "j1", state = "JOB_STATE_RUNNING", total = #decisions, done = 0 } end,
    GetJob = function(req)
      n = n + 1
      local out = {}
      for i = (req.decisionsFrom or 0) + 1, #decisions do out[#out + 1] = decisions[i] end
      return 200, { id = "j1", state = "JOB_STATE_DONE", total = #decisions, done = #decisions, decisions = out,
                    decisionsFrom = req.decisionsFrom or 0, decisionsTotal = #decisions }
    end,
  })
  local s = { unrated_rating = 1, respect_user_ratings = true, write_tags = true, write_notes = true, poll_ms = 1 }
  for k, v in pairs(settings or {}) do s[k] = v end
  progress_log = progress_log or {}
  progress_log.updates = {}
  local ctl = controller.new({
    dt = dt, sys = sys, json = F.json, map = decision_map,
    settings = function() return s end,
    notify = function(m) dt.print(m) end,
    progress = function(title)
      return {
        update = function(f, text) progress_log.updates[#progress_log.updates + 1] = { f, text } end,
        cancelled = function()
          -- the photographer presses cancel once `cancel_after_writes` images are written
          if progress_log.cancel_after_writes == nil then return false end
          local written = 0
          for _, u in ipairs(progress_log.updates) do
            if tostring(u[2]):match("^writing") then written = written + 1 end
          end
          return written >= progress_log.cancel_after_writes
        end,
        finish = function() progress_log.finished = (progress_log.finished or 0) + 1 end,
      }
    end,
    sleep = function() end,
    ledger = ledger_mod.open("/cfg/autocull-ledger.json", sys, F.json),
  })
  return ctl, dt, sys, progress_log
end

local function shoot(dt)
  return { dt.add_image(SHOOT, "a.jpg", 1), dt.add_image(SHOOT, "b.jpg", 1), dt.add_image(SHOOT, "c.jpg", 1) }
end

local function decisions()
  return {
    F.decision(SHOOT .. "/a.jpg", "keep", { reasons = { "subject sharp (0.99)", "exposure ok" } }),
    F.decision(SHOOT .. "/b.jpg", "reject", { reasons = { "subject blurred: sharpness 0.12 < 0.30" } }),
    F.decision(SHOOT .. "/c.jpg", "review", { reasons = { "slightly dark\nunder by 1 EV" } }),
  }
end

describe("the sidecar agrees with the library", function()
  for _, case in ipairs({ { "tags and notes on", {} },
                          { "tags and notes off", { write_tags = false, write_notes = false } } }) do
    it("after a cull, " .. case[1], function()
      local ctl, dt = setup(decisions(), case[2])
      local imgs = shoot(dt)
      local r = ctl:cull(imgs)
      assert.is_true(r.ok, r.message)
      for _, img in ipairs(imgs) do
        assert.same(X.library_state(img), img._sidecar)
      end
      assert.equals("yellow", X.library_state(imgs[3]).labels)   -- labels were written at all
    end)
  end

  it("the stand-in is as darktable: a label write alone leaves the sidecar behind", function()
    local dt = X.darktable()
    local img = dt.add_image(SHOOT, "x.jpg", 1)
    img.red = true
    assert.are_not.same(X.library_state(img), img._sidecar)
  end)

  it("nothing written, no sidecar write", function()
    local ctl, dt = setup(decisions())
    local imgs = shoot(dt)
    ctl:cull(imgs)
    local writes = dt.sidecar_writes
    local again = ctl:cull(imgs)
    assert.equals(0, again.counts.applied)
    assert.equals(writes, dt.sidecar_writes)
  end)
end)

describe("reasons in the notes", function()
  it("one line per image, after the photographer's own text, replaced on the next cull", function()
    local ctl, dt = setup(decisions())
    local imgs = shoot(dt)
    imgs[2].notes = "client: Smith\nprint 20x30"
    ctl:cull(imgs)
    assert.equals("AutoCull: keep - subject sharp (0.99); exposure ok", imgs[1].notes)
    assert.equals("client: Smith\nprint 20x30\nAutoCull: reject - subject blurred: sharpness 0.12 < 0.30",
      imgs[2].notes)
    assert.equals("AutoCull: review - slightly dark under by 1 EV", imgs[3].notes)
    -- the daemon decides otherwise later: AutoCull's line changes, the photographer's stays
    local ctl2 = setup({ F.decision(SHOOT .. "/b.jpg", "review", { reasons = { "borderline" } }) })
    ctl2.dt = dt
    ctl2.ledger = ctl.ledger
    ctl2:cull({ imgs[2] })
    assert.equals("client: Smith\nprint 20x30\nAutoCull: review - borderline", imgs[2].notes)
  end)

  it("off: the notes are never written", function()
    local ctl, dt = setup(decisions(), { write_notes = false })
    local imgs = shoot(dt)
    ctl:cull(imgs)
    for _, img in ipairs(imgs) do assert.equals("", img.notes) end
  end)

  it("a photo the photographer rated keeps its notes too", function()
    local ctl, dt = setup(decisions())
    local imgs = shoot(dt)
    imgs[1].rating = 5
    imgs[1].notes = "my best"
    local r = ctl:cull(imgs)
    assert.equals("my best", imgs[1].notes)
    assert.equals(1, r.counts.user_rated)
  end)

  it("merge keeps every other line and cuts long reasons on a character boundary", function()
    assert.equals("a\nAutoCull: keep\nb", notes.merge("a\nAutoCull: old\nb", "AutoCull: keep"))
    assert.equals("a\nb", notes.merge("a\nAutoCull: old\nb", nil))
    assert.equals("AutoCull: keep", notes.merge("", "AutoCull: keep"))
    assert.equals("x\nAutoCull: keep", notes.merge("x\n", "AutoCull: keep"))
    local long = notes.line("reject", { string.rep("é", 800) })
    assert.is_true(#long <= notes.MAX_BYTES)
    assert.is_truthy(long:match("%.%.%.$"))
    assert.is_nil(long:sub(1, -4):find("[\192-\255]$"))  -- no cut-off lead byte before the dots
  end)
end)

describe("progress while writing", function()
  it("the job's progress goes on through the writing, image by image", function()
    local ctl, dt, _, log = setup(decisions())
    ctl:cull(shoot(dt))
    local writing = {}
    for _, u in ipairs(log.updates) do
      if tostring(u[2]):match("^writing") then writing[#writing + 1] = u end
    end
    assert.equals(3, #writing)
    assert.equals("writing 3/3", writing[3][2])
    assert.equals(1, writing[3][1])
    assert.equals(1, log.finished)
  end)

  it("cancel between images: the rest stays as it was and the summary says so", function()
    local log = {}
    local ctl, dt = setup(decisions(), nil, log)
    local imgs = shoot(dt)
    log.cancel_after_writes = 1
    local r = ctl:cull(imgs)
    assert.is_true(r.cancelled)
    assert.equals(4, imgs[1].rating)
    assert.equals(1, imgs[2].rating)       -- untouched: the reject never came
    assert.is_false(imgs[3].yellow)
    assert.equals(2, r.counts.cancelled)
    assert.matches("cancelled while writing: 2 not written", r.message)
  end)
end)

describe("the cull summary", function()
  it("says how many photos were left alone because the photographer rated them", function()
    local counts = { keep = 1, review = 0, reject = 2, skipped = 3, user_rated = 3, failed = 0, not_in_library = 0 }
    assert.equals("1 keep, 0 review, 2 reject, 3 photos left alone because you had rated them",
      controller.summary(counts))
    counts.skipped, counts.user_rated = 1, 1
    assert.matches("1 photo left alone because you had rated it", controller.summary(counts))
  end)
end)

describe("daemon not running", function()
  it("the message says how to start it, now and at every login", function()
    local dt = X.darktable()
    local ctl = controller.new({ dt = dt, sys = F.system({}, { env = { AUTOCULL_HOME = "/nowhere" } }),
      json = F.json, map = decision_map, settings = function() return {} end })
    ctl.sys.files["/nowhere/state.json"] = nil
    local r = ctl:cull({ dt.add_image(SHOOT, "a.jpg", 1) })
    assert.is_false(r.ok)
    assert.matches("autocull serve", r.message)
    assert.matches("autocull service install", r.message)
    assert.matches("start daemon", r.message)
    assert.matches("nothing was changed", r.message)
  end)

  it("connection refused (a stale state.json) says the same", function()
    local dt = X.darktable()
    local ctl = controller.new({ dt = dt, sys = F.system({}, { down = true }), json = F.json, map = decision_map,
      settings = function() return {} end })
    local r = ctl:cull({ dt.add_image(SHOOT, "a.jpg", 1) })
    assert.matches("autocull service install", r.message)
  end)

  it("start daemon runs `autocull service start`, the program quoted when it needs it", function()
    assert.equals("autocull service start", daemon_help.command("linux", "autocull"))
    assert.equals("'/opt/my tools/autocull' service start", daemon_help.command("linux", "/opt/my tools/autocull"))
    assert.equals([[""C:\Program Files\AutoCull\autocull.exe" service start"]],
      daemon_help.command("windows", [[C:\Program Files\AutoCull\autocull.exe]]))
    -- what cmd /c really runs (the model of its quote rules in spec/support/cmd_exe.lua)
    local cmd = require "spec.support.cmd_exe"
    for _, program in ipairs { [[C:\AutoCull\autocull.exe]], [[C:\Program Files\AutoCull\autocull.exe]],
                               [[\\nas\tools & more\autocull.exe]] } do
      local ran = assert(cmd.run(daemon_help.command("windows", program), { is_program = function() return true end }))
      assert.same({ program, "service", "start" }, ran.argv)
    end
    local ran
    local ok, msg = daemon_help.start({ os = "linux", popen_read = function(c) ran = c; return "started\nAUTOCULL_EXIT=0\n" end },
      "autocull")
    assert.is_true(ok)
    assert.equals("autocull service start 2>&1; echo AUTOCULL_EXIT=$?", ran)
    assert.equals("started", msg)
    ok, msg = daemon_help.start({ os = "linux", popen_read = function() return "sh: 1: autocull: not found\nAUTOCULL_EXIT=127\n" end },
      "autocull")
    assert.is_false(ok)
    assert.matches("autocull program", msg)
  end)
end)
