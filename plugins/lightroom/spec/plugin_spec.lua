-- busted --lua=lua5.1 plugins/lightroom/spec   (the plug-in's own files under the stand-in SDK)
local spec_dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "plugins/lightroom/spec"
local plugin_dir = spec_dir .. "/../autocull.lrplugin"
package.path = spec_dir .. "/support/?.lua;" .. plugin_dir .. "/?.lua;" .. package.path

local lrsdk = require "lrsdk"
local fake_daemon = require "fake_daemon"
local json = require "dkjson"

local TOKEN = "tok-123"

local function tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("*l")
  p:close()
  return d
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function decision(path, over)
  local d = { path = path, verdict = "VERDICT_KEEP", pick = "PICK_PICKED", stars = 4,
              colorLabel = "COLOR_LABEL_NONE", keywords = { "AutoCull|Keep" }, reasons = { "sharp" },
              error = { code = "", message = "" }, burstId = "" }
  for k, v in pairs(over or {}) do d[k] = v end
  return d
end

-- A stand-in Lightroom with a fake daemon that decides by file name.
local function setup(opts)
  opts = opts or {}
  local S = lrsdk.new { plugin_dir = plugin_dir }
  S:install()
  local home = tmpdir()
  write(home .. "/state.json", json.encode { token = TOKEN, http_port = 50999, grpc_port = 50998, host = "127.0.0.1", pid = 1 })
  S.prefs.stateFile = home .. "/state.json"
  S.prefs.pollInterval = 0
  -- these specs are about the writes: the collection set counts as made (collections_spec covers it)
  S.prefs.collectionsMade = { [S.catalog:getPath()] = true }
  local jobs = {}
  local d = fake_daemon.new(TOKEN, {
    ListPresets = function() return 200, { presets = { { name = "default", description = "Balanced", builtin = true },
                                                       { name = "strict", description = "Fewer keepers", builtin = true } } } end,
    StartJob = function(body)
      local job = { id = "job1", state = "JOB_STATE_RUNNING", stage = "analyzing", done = 0, total = #body.paths,
                    paths = body.paths, polls = 0, request = body }
      jobs[job.id] = job
      return 200, { id = job.id, state = job.state, stage = job.stage, done = 0, total = job.total,
                    decisions = {}, decisionsFrom = 0, decisionsTotal = 0 }
    end,
    GetJob = function(body)
      local job = jobs[body.jobId]
      job.polls = job.polls + 1
      if job.state == "JOB_STATE_CANCELLED" then
        return 200, { id = job.id, state = job.state, decisions = {}, decisionsFrom = body.decisionsFrom }
      end
      if job.polls < (opts.polls or 2) then
        return 200, { id = job.id, state = "JOB_STATE_RUNNING", stage = "analyzing", done = job.polls, total = job.total,
                      decisions = {}, decisionsFrom = body.decisionsFrom, decisionsTotal = 0, currentPath = job.paths[1] }
      end
      if opts.fail_job then
        return 200, { id = job.id, state = "JOB_STATE_FAILED", message = "disk full", decisions = {} }
      end
      local all = {}
      for _, p in ipairs(job.paths) do
        if p:match("blurry") then
          all[#all + 1] = decision(p, { verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", stars = 0,
                                        colorLabel = "COLOR_LABEL_RED", keywords = { "AutoCull|Reject|Blurry" },
                                        reasons = { "subject soft: sharpness 0.1 < 0.25" } })
        elseif p:match("broken") then
          all[#all + 1] = decision(p, { verdict = "VERDICT_UNSPECIFIED", pick = "PICK_UNSPECIFIED", stars = 0,
                                        keywords = {}, error = { code = "CORRUPT", message = "cannot decode JPEG" } })
        elseif p:match("so%-so") then
          all[#all + 1] = decision(p, { verdict = "VERDICT_REVIEW", pick = "PICK_NONE", stars = 2,
                                        colorLabel = "COLOR_LABEL_YELLOW", keywords = { "AutoCull|Review" }, burstId = "b1" })
        else
          all[#all + 1] = decision(p, { burstId = p:match("burst") and "b1" or "" })
        end
      end
      local from = body.decisionsFrom or 0
      local page = {}
      for i = from + 1, math.min(#all, from + (opts.page or #all)) do page[#page + 1] = all[i] end
      return 200, { id = job.id, state = "JOB_STATE_DONE", stage = "done", done = job.total, total = job.total,
                    decisions = page, decisionsFrom = from, decisionsTotal = #all }
    end,
    CancelJob = function(body)
      jobs[body.jobId].state = "JOB_STATE_CANCELLED"
      return 200, { id = body.jobId, state = "JOB_STATE_CANCELLED" }
    end,
    SendFeedback = function(body)
      return 200, { stored = #body.items, totalLabels = 10 + #body.items, unknown = 0, agreement = 0.75,
                    compared = 8, modelState = "learning: 12 labels, needs 30" }
    end,
    GetStatus = function() return 200, { version = "0.1.0", photosStored = 42, jobsRunning = 0, home = home,
                                         verdicts = { keep = 1, review = 2, reject = 3, failed = 0 }, watched = {} } end,
  })
  S.http.transport = d.transport
  return S, d, home
end

local function last_message(S)
  local m = S.dialogs.of_kind("message")
  return m[#m]
end

describe("Info.lua and the plug-in files", function()
  it("runs under Lua 5.1", function()
    assert.are.equal("Lua 5.1", _VERSION)
  end)

  it("declares both menus with existing files and the providers", function()
    local S = lrsdk.new { plugin_dir = plugin_dir }:install()
    local info = S.info
    assert.are.equal(5, #info.LrLibraryMenuItems)
    assert.are.same(info.LrLibraryMenuItems, info.LrExportMenuItems)
    for _, item in ipairs(info.LrLibraryMenuItems) do
      assert.is_string(item.title)
      assert.truthy(io.open(plugin_dir .. "/" .. item.file), item.file)
    end
    for _, key in ipairs { "LrPluginInfoProvider", "LrInitPlugin", "LrShutdownPlugin", "LrMetadataProvider" } do
      assert.truthy(io.open(plugin_dir .. "/" .. info[key]), key)
    end
    assert.are.equal("Auto-cull selection", info.LrLibraryMenuItems[1].title)
  end)

  it("loads every module without setting a global", function()
    local S = lrsdk.new { plugin_dir = plugin_dir }:install()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    for _, m in ipairs { "Prefs", "DaemonState", "DaemonClient", "Messages", "CatalogPhotos", "Selection",
                         "CullOptionsDialog", "CullTask", "TeachTask", "ApplyChangesTask", "StatusTask",
                         "BackgroundPoller", "Log", "decision_map", "PluginInfoProvider", "Taste" } do
      assert.is_table(require(m), m)
    end
    dofile(plugin_dir .. "/InitPlugin.lua")
    dofile(plugin_dir .. "/ShutdownPlugin.lua")
    for k in pairs(_G) do assert.is_true(before[k] ~= nil, "global leaked: " .. tostring(k)) end
    assert.is_table(S)
  end)
end)

describe("the stand-in SDK refuses what Lightroom refuses", function()
  it("raises on writes outside withWriteAccessDo and on nesting", function()
    local S = setup()
    local p = S.catalog:_add_photo { path = "/x.jpg" }
    assert.has_error(function() p:setRawMetadata("rating", 3) end)
    assert.has_error(function() S.catalog:createKeyword("AutoCull", {}, true, nil, true) end)
    assert.has_error(function() p:setPropertyForPlugin(S.plugin, "verdict", "keep") end)
    assert.has_error(function()
      S.catalog:withWriteAccessDo("x", function() S.catalog:withWriteAccessDo("y", function() end) end)
    end)
    assert.are.equal("executed", S.catalog:withWriteAccessDo("x", function() p:setRawMetadata("rating", 3) end, { timeout = 1 }))
    assert.are.equal(3, p.raw.rating)
    assert.has_error(function()
      S.catalog:withPrivateWriteAccessDo(function() p:setPropertyForPlugin(S.plugin, "undeclared", "x") end)
    end)
  end)

  it("refuses LrHttp outside an async task", function()
    local S = setup()
    assert.has_error(function() S.http.post("http://127.0.0.1:1/x", "{}", {}) end)
  end)
end)

describe("DaemonClient", function()
  local function call_in_task(S, fn)
    local result
    S.tasks.startAsyncTask(function() result = { fn() } end)
    S:run_tasks()
    return unpack(result)
  end

  it("posts JSON with the token and decodes the answer", function()
    local S, d = setup()
    local DaemonClient = require "DaemonClient"
    local answer = call_in_task(S, function()
      local c = assert(DaemonClient.connect(S.prefs))
      return c:call("GetStatus", nil)
    end)
    assert.are.equal(42, answer.photosStored)
    local req = d.calls[1].req
    assert.are.equal("http://127.0.0.1:50999/autocull.v1.AutoCull/GetStatus", req.url)
    assert.are.equal("{}", req.body)
  end)

  it("says no_state when the state file is missing, naming the path", function()
    local S = setup()
    S.prefs.stateFile = "/nonexistent/autocull/state.json"
    local _, err = require("DaemonClient").connect(S.prefs)
    assert.are.equal("no_state", err.kind)
    local title, info = require("Messages").error_text(err)
    assert.matches("not running", title)
    assert.matches("/nonexistent/autocull/state.json", info, 1, true)
    assert.matches("autocull serve", info, 1, true)
  end)

  it("turns a network failure into 'down' with how to start the daemon", function()
    local S = setup()
    S.http.transport = function() return nil, { errorCode = "cannotConnectToHost", name = "refused" } end
    local _, err = call_in_task(S, function() return require("DaemonClient").connect(S.prefs):call("GetStatus") end)
    assert.are.equal("down", err.kind)
    local _, info = require("Messages").error_text(err)
    assert.matches("autocull serve", info, 1, true)
  end)

  it("turns 401 into 'auth' naming the token file", function()
    local S, d = setup()
    d.token = "other"
    local _, err = call_in_task(S, function() return require("DaemonClient").connect(S.prefs):call("GetStatus") end)
    assert.are.equal("auth", err.kind)
    local _, info = require("Messages").error_text(err)
    assert.matches(S.prefs.stateFile, info, 1, true)
  end)

  it("reports other errors with the daemon's code and message, and non-JSON as protocol", function()
    local S, d = setup()
    d.handlers.GetStatus = function() return 500, { code = "internal", message = "boom" } end
    local _, err = call_in_task(S, function() return require("DaemonClient").connect(S.prefs):call("GetStatus") end)
    assert.are.equal("server", err.kind)
    assert.are.equal("internal", err.code)
    d.handlers.GetStatus = function() return "<html>" end
    _, err = call_in_task(S, function() return require("DaemonClient").connect(S.prefs):call("GetStatus") end)
    assert.are.equal("protocol", err.kind)
  end)
end)

describe("Auto-cull selection", function()
  local function catalog(S)
    local c = S.catalog
    local photos = {
      sharp = c:_add_photo { path = "/shoot/sharp.jpg" },
      blurry = c:_add_photo { path = "/shoot/blurry.jpg", keywords = { "Travel|Rome", "AutoCull|Keep" } },
      soso = c:_add_photo { path = "/shoot/so-so burst.jpg" },
      rated = c:_add_photo { path = "/shoot/rated.jpg", rating = 3, label = "green" },
      broken = c:_add_photo { path = "/shoot/broken.jpg" },
      virtual = c:_add_photo { path = "/shoot/sharp.jpg", virtual = true },
      missing = c:_add_photo { path = "/shoot/missing.jpg", missing = true },
    }
    for _, k in ipairs { "sharp", "blurry", "soso", "rated", "broken", "virtual", "missing" } do
      c.selected[#c.selected + 1] = photos[k]
    end
    return photos
  end

  it("writes the daemon's decisions, leaves rated photos alone, counts every photo", function()
    local S, d = setup()
    local p = catalog(S)
    S:run_menu("MenuCull.lua")
    assert.are.same({}, S.tasks.errors)
    -- picks, stars, labels, keywords
    assert.are.equal(1, p.sharp.raw.pickStatus)
    assert.are.equal(4, p.sharp.raw.rating)
    assert.are.same({ "AutoCull|Keep" }, p.sharp:keyword_paths())
    assert.are.equal(-1, p.blurry.raw.pickStatus)
    assert.is_nil(p.blurry.raw.rating)
    assert.are.equal("red", p.blurry.raw.colorNameForLabel)
    assert.are.same({ "AutoCull|Reject|Blurry", "Travel|Rome" }, p.blurry:keyword_paths())
    assert.are.equal(0, p.soso.raw.pickStatus)
    assert.are.equal("yellow", p.soso.raw.colorNameForLabel)
    -- untouched
    assert.are.equal(3, p.rated.raw.rating)
    assert.are.equal("green", p.rated.raw.colorNameForLabel)
    assert.are.same({}, p.rated:keyword_paths())
    assert.are.equal(0, p.virtual.raw.pickStatus)
    assert.is_nil(p.broken.raw.rating)
    -- the job got each file once, no virtual copy, no missing file
    assert.are.same({ "/shoot/sharp.jpg", "/shoot/blurry.jpg", "/shoot/so-so burst.jpg", "/shoot/rated.jpg",
                      "/shoot/broken.jpg" }, d.calls[2].body.paths)
    -- bookkeeping
    assert.are.equal("reject", p.blurry.props.verdict)
    assert.are.equal("subject soft: sharpness 0.1 < 0.25", p.blurry.props.reasons)
    assert.are.equal("rating=0;pick=rejected;label=red", p.blurry.props.lastWritten)
    -- left alone: AutoCull's view is its opinion, not a verdict the smart collections would list
    assert.is_nil(p.rated.props.verdict)
    assert.matches("^keep .* not applied: you had rated", p.rated.props.opinion)
    assert.is_nil(p.rated.props.lastWritten)
    -- one undo step named AutoCull
    assert.are.equal(1, #S.catalog.undo_steps)
    assert.matches("^AutoCull", S.catalog.undo_steps[1].name)
    -- summary dialog
    local m = last_message(S)
    assert.matches("5 photos culled", m.message)
    assert.matches("1 picked, 1 rejected, 1 to review, 1 bursts", m.info, 1, true)
    assert.matches("3 skipped: 1 file missing, 1 already rated, flagged or labelled by you, 1 virtual copy", m.info, 1, true)
    assert.matches("1 failed:", m.info, 1, true)
    assert.matches("broken.jpg: cannot decode JPEG", m.info, 1, true)
    -- progress was shown and is done
    local scope = S.progress.scopes[1]
    assert.is_true(scope.cancelable)
    assert.is_true(scope:isDone())
  end)

  it("overwrites rated photos when the option is unticked, and sends the preset", function()
    local S, d = setup()
    local p = catalog(S)
    S.dialogs.on_modal = function(args)
      args.contents.bind_to_object.respectUserRatings = false
      args.contents.bind_to_object.preset = "strict"
    end
    S:run_menu("MenuCull.lua")
    assert.are.equal(4, p.rated.raw.rating)
    assert.are.equal("strict", d.calls[2].body.preset)
    assert.is_false(S.prefs.respectUserRatings) -- remembered as the new default
  end)

  it("writes only what is ticked", function()
    local S = setup()
    local p = catalog(S)
    S.dialogs.on_modal = function(args)
      local props = args.contents.bind_to_object
      props.writePicks, props.writeKeywords = false, false
    end
    S:run_menu("MenuCull.lua")
    assert.are.equal(0, p.sharp.raw.pickStatus)
    assert.are.equal(4, p.sharp.raw.rating)
    assert.are.same({}, p.sharp:keyword_paths())
  end)

  it("cancel stops the job on the daemon and writes nothing", function()
    local S, d = setup { polls = 1000 }
    local p = catalog(S)
    S.progress.on_update = function(scope) if #scope.updates >= 2 then scope:cancel() end end
    S:run_menu("MenuCull.lua")
    local methods = d.methods()
    assert.are.equal("CancelJob", methods[#methods])
    assert.are.equal("job1", d.calls[#d.calls].body.jobId)
    assert.are.equal(0, #S.catalog.writes)
    assert.is_nil(p.sharp.props.verdict)
    assert.matches("cancelled", last_message(S).message)
  end)

  it("says how to start the daemon when it is down, and writes nothing", function()
    local S = setup()
    catalog(S)
    S.http.transport = function() return nil, { errorCode = "cannotConnectToHost", name = "Could not connect" } end
    S.dialogs.answers = { "cancel" } -- Close, not Start AutoCull
    S:run_menu("MenuCull.lua")
    local m = S.dialogs.of_kind("confirm")[1]
    assert.matches("Cannot reach the AutoCull daemon", m.message)
    assert.matches("autocull serve", m.info, 1, true)
    assert.matches("autocull service install", m.info, 1, true)
    assert.matches("Nothing was changed", m.info, 1, true)
    assert.are.equal(0, #S.catalog.writes)
    assert.are.same({}, S.tasks.executed)
  end)

  it("says where the token lives when it is refused", function()
    local S, d = setup()
    catalog(S)
    d.token = "a-new-token"
    S:run_menu("MenuCull.lua")
    local m = last_message(S)
    assert.matches("refused", m.message)
    assert.matches(S.prefs.stateFile, m.info, 1, true)
  end)

  it("reports a failed job and writes nothing", function()
    local S = setup { fail_job = true }
    catalog(S)
    S:run_menu("MenuCull.lua")
    assert.matches("disk full", last_message(S).info)
    assert.are.equal(0, #S.catalog.writes)
  end)

  it("asks before taking the whole filmstrip, and stops when declined", function()
    local S, d = setup()
    catalog(S)
    S.catalog.selected = {}
    S.dialogs.answers = { "cancel" }
    S:run_menu("MenuCull.lua")
    assert.are.equal(1, #S.dialogs.of_kind("confirm"))
    assert.are.equal(0, #d.calls)
  end)

  it("makes the AutoCull collection set once, before the first cull's writes: Undo takes back the cull", function()
    local S = setup()
    S.prefs.collectionsMade = nil -- a catalog AutoCull never wrote to
    for i = 1, 3 do
      S.catalog.selected[i] = S.catalog:_add_photo { path = "/shoot/p" .. i .. ".jpg" }
    end
    S:run_menu("MenuCull.lua")
    assert.are.same({}, S.tasks.errors)
    local names = {}
    for _, step in ipairs(S.catalog.undo_steps) do names[#names + 1] = step.name end
    assert.are.same({ "Create AutoCull collections", "AutoCull cull" }, names)
    local sets = S.catalog:getChildCollectionSets()
    assert.are.equal(1, #sets)
    assert.are.equal("AutoCull", sets[1]:getName())
    assert.are.equal(4, #sets[1]:getChildCollections())
    -- Edit > Undo right after the cull takes back the cull and leaves the set
    assert.are.equal("AutoCull cull", S.catalog:_undo())
    assert.are.equal(1, #S.catalog:getChildCollectionSets())
    -- a second cull makes no second set; the result the photographer undid is not written again
    S:run_menu("MenuCull.lua")
    assert.are.equal(1, #S.catalog:getChildCollectionSets())
    assert.are.equal(1, #S.catalog.undo_steps)
    assert.matches("3 taken back by you", last_message(S).info, 1, true)
    -- with "leave photos I rated alone" unticked the photographer asks for it again: written
    S.dialogs.on_modal = function(args) args.contents.bind_to_object.respectUserRatings = false end
    S:run_menu("MenuCull.lua")
    assert.are.equal(1, #S.catalog:getChildCollectionSets())
    assert.are.equal("AutoCull cull", S.catalog.undo_steps[#S.catalog.undo_steps].name)
    assert.are.equal(2, #S.catalog.undo_steps)
  end)

  it("writes in chunks, one undo step each", function()
    local S = setup()
    for i = 1, 5 do
      S.catalog.selected[i] = S.catalog:_add_photo { path = "/shoot/p" .. i .. ".jpg" }
    end
    S.prefs.chunkSize = 2
    S:run_menu("MenuCull.lua")
    assert.are.equal(3, #S.catalog.undo_steps)
  end)

  it("reads every page of a big job: more pages than any fixed cap on calls", function()
    local S, d = setup { page = 1 }  -- the daemon caps each answer; here at one decision
    for i = 1, 150 do
      S.catalog.selected[i] = S.catalog:_add_photo { path = "/shoot/p" .. i .. ".jpg" }
    end
    S:run_menu("MenuCull.lua")
    assert.are.same({}, S.tasks.errors)
    for i = 1, 150 do assert.are.equal(4, S.catalog.selected[i].raw.rating, "photo " .. i) end
    local gets = 0
    for _, c in ipairs(d.calls) do if c.method == "GetJob" then gets = gets + 1 end end
    assert.is_true(gets > 150, tostring(gets))
    assert.matches("150 photos culled", last_message(S).message)
  end)

  it("counts photos not written when the catalog stays busy", function()
    local S = setup()
    local p = catalog(S)
    S.catalog.busy = true
    S:run_menu("MenuCull.lua")
    assert.is_nil(p.sharp.raw.rating)
    assert.matches("catalog busy", last_message(S).info)
  end)

  it("re-culling replaces its own earlier keywords and marks", function()
    local S = setup()
    local p = catalog(S)
    S:run_menu("MenuCull.lua")
    assert.are.equal(-1, p.blurry.raw.pickStatus)
    -- the photo still carries exactly what AutoCull wrote: not "rated by you"
    S:run_menu("MenuCull.lua")
    local m = last_message(S)
    assert.matches("1 picked, 1 rejected, 1 to review", m.info, 1, true)
    assert.are.same({ "AutoCull|Reject|Blurry", "Travel|Rome" }, p.blurry:keyword_paths())
  end)
end)

describe("Teach AutoCull from my ratings", function()
  it("sends only ratings the user set and shows the answer", function()
    local S, d = setup()
    local c = S.catalog
    c.selected = {
      c:_add_photo { path = "/a.jpg", rating = 5, pickStatus = 1, label = "green" },
      c:_add_photo { path = "/b.jpg" },
      c:_add_photo { path = "/c.jpg", rating = 4, pickStatus = 1,
                     props = { lastWritten = "rating=4;pick=picked;label=none" } },
      c:_add_photo { path = "/a.jpg", rating = 1, virtual = true },
    }
    S:run_menu("MenuTeach.lua")
    local body = d.calls[1].body
    assert.are.equal("lightroom", body.source)
    assert.are.same({ { path = "/a.jpg", rating = 5, pick = "PICK_PICKED", colorLabel = "COLOR_LABEL_GREEN" } }, body.items)
    local m = last_message(S)
    assert.matches("1 of 1 ratings stored", m.info, 1, true)
    assert.matches("75%", m.info, 1, true)
    assert.matches("2 without your own rating", m.info, 1, true)
  end)
end)

describe("the taste profile preference", function()
  local function teach_one(S)
    local c = S.catalog
    c.selected = { c:_add_photo { path = "/a.jpg", rating = 5, pickStatus = 1 } }
    S:run_menu("MenuTeach.lua")
  end
  local function cull_one(S)
    local c = S.catalog
    c.selected = { c:_add_photo { path = "/shoot/sharp.jpg" } }
    S:run_menu("MenuCull.lua")
  end
  local function body_of(d, method)
    for _, call in ipairs(d.calls) do if call.method == method then return call.body end end
  end

  it("is empty by default: requests leave the profile to the daemon", function()
    local S, d = setup()
    assert.are.equal("", require("Prefs").get().profile)
    cull_one(S)
    teach_one(S)
    assert.are.same({}, S.tasks.errors)
    assert.is_nil(body_of(d, "StartJob").profile)
    assert.is_nil(body_of(d, "SendFeedback").profile)
  end)

  it("names the profile in the cull job and in the feedback when set (trimmed)", function()
    local S, d = setup()
    S.prefs.profile = "  wedding "
    cull_one(S)
    teach_one(S)
    assert.are.same({}, S.tasks.errors)
    assert.are.equal("wedding", body_of(d, "StartJob").profile)
    assert.are.equal("wedding", body_of(d, "SendFeedback").profile)
    assert.are.equal("lightroom", body_of(d, "SendFeedback").source)
  end)

  it("is a field of the Plug-in Manager section, saved trimmed", function()
    local S = setup()
    local provider = dofile(plugin_dir .. "/PluginInfoProvider.lua")
    local props = {}
    provider.startDialog(props)
    assert.are.equal("", props.profile)
    local bound = {}
    local function walk(node)
      if type(node) ~= "table" then return end
      if node.kind == "edit_field" and type(node.args.value) == "table" then bound[node.args.value.bind] = true end
      for _, child in ipairs(node.args or {}) do walk(child) end
    end
    local f = S:import("LrView").osFactory()
    for _, section in ipairs(provider.sectionsForTopOfDialog(f, props)) do
      for _, node in ipairs(section) do walk(node) end
    end
    assert.is_true(bound.profile)
    props.profile = " landscape  "
    provider.endDialog(props)
    assert.are.equal("landscape", S.prefs.profile)
    S:run_tasks()
  end)
end)

describe("Teach: how far to trust the taste model", function()
  local function teach(answer, policy)
    local S, d = setup()
    d.handlers.SendFeedback = function(body)
      local a = { stored = #body.items, totalLabels = 140, unknown = 0, agreement = 0.5, compared = 0 }
      for k, v in pairs(answer) do a[k] = v end
      return 200, a
    end
    if policy then d.handlers.GetPolicy = policy end
    local c = S.catalog
    c.selected = { c:_add_photo { path = "/a.jpg", rating = 5, pickStatus = 1 } }
    S:run_menu("MenuTeach.lua")
    assert.are.same({}, S.tasks.errors)
    return last_message(S).info, d
  end
  local function taste(over)
    local t = { profile = "default", labels = 140, embedded = 140, ready = true, auc = 0.81, spearman = 0.4,
                needed = 0, trusted = true, sentence = "profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings" }
    for k, v in pairs(over or {}) do t[k] = v end
    return t
  end

  it("a trained, trusted model: its cross-validated AUC, the rating count and 'trusted'", function()
    local info, d = teach { modelState = "profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings",
                            taste = taste() }
    assert.matches("Model: profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings", info, 1, true)
    assert.matches("Model quality: AUC 0.81 (cross-validated) on 140 ratings - trusted: it counts in AutoCull's decisions.",
                   info, 1, true)
    assert.is_nil(info:find("not yet trusted", 1, true))
    for _, m in ipairs(d.methods()) do assert.are_not.equal("GetPolicy", m) end
  end)

  it("a trained model below the policy's line: not yet trusted, and the AUC it must reach", function()
    local info, d = teach({ modelState = "profile 'default': taste model AUC 0.58 (cross-validated) on 40 ratings",
                            taste = taste { auc = 0.58, labels = 41, embedded = 40, trusted = false } },
                          function() return 200, { values = { preference_min_quality = 0.65, profile = "default" } } end)
    assert.matches("Model quality: AUC 0.58 (cross-validated) on 40 ratings - not yet trusted: it counts in decisions once its AUC reaches 0.65.",
                   info, 1, true)
    assert.is_nil(info:find("- trusted", 1, true))
    local methods = d.methods()
    assert.are.equal("GetPolicy", methods[#methods])
  end)

  it("a star model alone: Spearman, and the Spearman the same line asks for", function()
    local info = teach({ taste = taste { auc = 0, spearman = 0.2, embedded = 60, trusted = false } },
                       function() return 200, { values = { preference_min_quality = 0.65 } } end)
    assert.matches("Spearman 0.20 (cross-validated) on 60 ratings - not yet trusted: it counts in decisions once its Spearman reaches 0.30.",
                   info, 1, true)
  end)

  it("an untrusted model when the policy cannot be read: names the policy key instead of a number", function()
    local info = teach { taste = taste { auc = 0.58, trusted = false } }  -- the fake has no GetPolicy: 501
    assert.matches("not yet trusted: it counts in decisions once its quality reaches the policy's preference_min_quality",
                   info, 1, true)
  end)

  it("no model yet: how many more ratings it needs, and photos without a vector need no cull", function()
    local info, d = teach { unknown = 3,
                            modelState = "profile 'default': 12 ratings with an embedding, 8 more needed before a taste model is trained (minimum 20)",
                            taste = taste { ready = false, auc = 0, spearman = 0, labels = 15, embedded = 12, needed = 8,
                                            trusted = false } }
    assert.matches("Model quality: no model yet - 8 more ratings needed before one is trained.", info, 1, true)
    assert.matches("Model: profile 'default': 12 ratings with an embedding, 8 more needed", info, 1, true)
    assert.matches("3 of these photos have no CLIP vector yet: the daemon makes them in the background, then retrains the model.",
                   info, 1, true)
    assert.matches("no need to cull them first", info, 1, true)
    assert.is_nil(info:find("Model quality: AUC", 1, true))
    for _, m in ipairs(d.methods()) do assert.are_not.equal("GetPolicy", m) end
  end)

  it("no model and no ratings missing (CLIP off, or training): says the taste does not count yet", function()
    local info = teach { modelState = "CLIP is off (AUTOCULL_CLIP=off)",
                         taste = taste { ready = false, auc = 0, spearman = 0, needed = 0, trusted = false } }
    assert.matches("Model: CLIP is off (AUTOCULL_CLIP=off)", info, 1, true)
    assert.matches("Model quality: no model yet, so your taste does not count in decisions.", info, 1, true)
  end)
end)

describe("Apply background results", function()
  it("applies decisions since the cursor, keeps the cursor, never applies twice", function()
    local S, d = setup()
    local c = S.catalog
    local a = c:_add_photo { path = "/w/a.jpg" }
    local pages = {
      [""] = { decisions = { decision("/w/a.jpg"), decision("/w/elsewhere.jpg") }, nextCursor = "c1", more = true },
      c1 = { decisions = { decision("/w/a.jpg", { stars = 4 }) }, nextCursor = "c2", more = false },
      c2 = { decisions = {}, nextCursor = "c2", more = false },
    }
    local clients = {}
    d.handlers.GetChanges = function(body)
      clients[#clients + 1] = body.clientId
      return 200, pages[body.cursor]
    end
    S:run_menu("MenuApplyChanges.lua")
    assert.are.same({}, S.tasks.errors)
    assert.are.equal("lightroom:/Users/me/Pictures/Lightroom/Lightroom Catalog.lrcat", clients[1])
    assert.are.equal(4, a.raw.rating)
    assert.are.equal("c2", S.prefs.catalogs["/Users/me/Pictures/Lightroom/Lightroom Catalog.lrcat"].cursor)
    local m = last_message(S)
    assert.matches("1 not in this catalog yet", m.info, 1, true)
    assert.matches("1 already applied", m.info, 1, true)
    assert.are.equal(1, #S.catalog.undo_steps)
    S:run_menu("MenuApplyChanges.lua")
    assert.matches("no new background results", last_message(S).message)
  end)

  it("the background poller applies quietly and stops when the option is off", function()
    local S, d = setup()
    S.catalog:_add_photo { path = "/w/a.jpg" }
    d.handlers.GetChanges = function() return 200, { decisions = { decision("/w/a.jpg") }, nextCursor = "c1", more = false } end
    S.prefs.autoApply = true
    S.prefs.pollSeconds = 2
    local BackgroundPoller = require "BackgroundPoller"
    assert.is_true(BackgroundPoller.ensure())
    S.progress.on_update = nil
    S:run_tasks(5)
    S.prefs.autoApply = false
    S:run_tasks()
    assert.is_false(BackgroundPoller.is_running())
    assert.are.equal(4, S.catalog.photos[1].raw.rating)
    assert.are.equal(0, #S.dialogs.of_kind("message"))
  end)
end)

describe("AutoCull status", function()
  it("shows the daemon's state and the token file", function()
    local S = setup()
    S:run_menu("MenuStatus.lua")
    local m = last_message(S)
    assert.matches("42 photos stored", m.info, 1, true)
    assert.matches(S.prefs.stateFile, m.info, 1, true)
  end)

  it("shows CLIP's state and one line per taste profile with whether it counts", function()
    local S, d = setup()
    S.prefs.profile = "wedding"
    d.handlers.GetStatus = function()
      return 200, { version = "0.2.0", photosStored = 42, jobsRunning = 0, home = "/h", watched = {},
                    verdicts = { keep = 1, review = 2, reject = 3, failed = 0 },
                    clip = "CLIP ViT-B-32/laion2b_s34b_b79k loaded", embedded = "40", tasteBusy = true,
                    profiles = {
                      { profile = "default", ready = true, trusted = true, auc = 0.81, labels = 140, embedded = 140,
                        sentence = "profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings" },
                      { profile = "wedding", ready = true, trusted = false, auc = 0.6, labels = 30, embedded = 30,
                        sentence = "profile 'wedding': taste model AUC 0.60 (cross-validated) on 30 ratings" },
                      { profile = "landscape", ready = false, needed = 8, labels = 12, embedded = 12,
                        sentence = "profile 'landscape': 12 ratings with an embedding, 8 more needed" },
                    } }
    end
    S:run_menu("MenuStatus.lua")
    local info = last_message(S).info
    assert.matches("CLIP ViT-B-32/laion2b_s34b_b79k loaded (40 photos have a vector)", info, 1, true)
    assert.matches("Taste: profile 'default': taste model AUC 0.81 (cross-validated) on 140 ratings (trusted: counts in decisions)",
                   info, 1, true)
    assert.matches("Taste: profile 'wedding': taste model AUC 0.60 (cross-validated) on 30 ratings (not yet trusted: left out of decisions)",
                   info, 1, true)
    assert.matches("Taste: profile 'landscape': 12 ratings with an embedding, 8 more needed\n", info)
    assert.matches("trained in the background", info, 1, true)
    assert.matches("taste profile 'wedding'", info, 1, true)
  end)

  it("an older daemon without taste fields: no taste lines, nothing breaks", function()
    local S = setup()
    S:run_menu("MenuStatus.lua")
    local info = last_message(S).info
    assert.is_nil(info:find("CLIP:", 1, true))
    assert.is_nil(info:find("Taste:", 1, true))
    assert.matches("daemon's active taste profile", info, 1, true)
  end)
end)
