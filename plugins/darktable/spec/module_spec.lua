local X = require "spec.support.host_extras"
local collections = require "lib/autocull/collections"

local function load_plugin(dt)
  package.loaded["darktable"] = dt
  local ok, sd = pcall(dofile, "autocull.lua")
  package.loaded["darktable"] = nil
  assert(ok, sd)
  return sd
end

--- Every widget in the module, depth first.
local function widgets(w, out)
  out = out or {}
  out[#out + 1] = w
  for _, child in ipairs(w) do widgets(child, out) end
  return out
end

local function find(dt, kind, label)
  for _, w in ipairs(widgets(dt.libs_registered[1].widget)) do
    if w.kind == kind and (label == nil or w.label == label or w.placeholder == label) then return w end
  end
  error("no " .. kind .. " " .. tostring(label))
end

describe("show AutoCull's keeps / review / rejects", function()
  it("narrows the photographer's collection by AutoCull's tag, and back restores it", function()
    local dt = X.darktable({ gui = true })
    load_plugin(dt)
    local before = dt.gui.libs.collect.current()
    find(dt, "button", "rejects").clicked_callback()
    local rules = dt.gui.libs.collect.current()
    assert.equals(2, #rules)
    assert.equals("DT_COLLECTION_PROP_FILMROLL", rules[1].item)
    assert.equals("/photos/2024 wedding", rules[1].data)
    assert.same({ mode = "DT_LIB_COLLECT_MODE_AND", item = "DT_COLLECTION_PROP_TAG", data = "AutoCull|Reject" },
      rules[2])
    -- another verdict narrows the same original collection (never tag AND tag)
    find(dt, "button", "keeps").clicked_callback()
    rules = dt.gui.libs.collect.current()
    assert.equals(2, #rules)
    assert.equals("AutoCull|Keep", rules[2].data)
    find(dt, "button", "back").clicked_callback()
    assert.same(before, dt.gui.libs.collect.current())
    -- back twice: nothing to restore, nothing changes
    local calls = #dt.collect_calls
    find(dt, "button", "back").clicked_callback()
    assert.equals(calls, #dt.collect_calls)
  end)

  it("every verdict has its tag; a collection of 10 rules keeps 9 and adds the tag", function()
    assert.same({ keep = "AutoCull|Keep", review = "AutoCull|Review", reject = "AutoCull|Reject" }, collections.TAGS)
    local dt = X.darktable({ gui = true })
    local base = {}
    for i = 1, 10 do base[i] = { mode = "DT_LIB_COLLECT_MODE_OR", item = "DT_COLLECTION_PROP_FILMROLL",
                                 data = "/r" .. i } end
    local rules = collections.rules_for(dt.gui.libs.collect, base, "review")
    assert.equals(10, #rules)
    assert.equals("AutoCull|Review", rules[10].data)
    assert.has_error(function() collections.rules_for(dt.gui.libs.collect, base, "maybe") end)
  end)
end)

describe("show AutoCull's verdicts without AutoCull's tags", function()
  local VERDICT_BUTTONS = { "keeps", "review", "rejects" }

  it("greys the buttons out with a tooltip that says why, and follows the setting both ways", function()
    local dt = X.darktable({ gui = true })
    dt.preferences.write("autocull", "write_tags", "bool", false)
    local sd = load_plugin(dt)
    for _, label in ipairs(VERDICT_BUTTONS) do
      local b = find(dt, "button", label)
      assert.is_false(b.sensitive, label)
      assert.matches("attach AutoCull tags", b.tooltip)
    end
    assert.is_false(sd.api.show_verdict("reject"))      -- a shortcut or script gets a reason, not a filter
    assert.equals(0, #dt.collect_calls)
    assert.matches("attach AutoCull tags", dt.printed[#dt.printed])

    local tags = find(dt, "check_button", "attach AutoCull tags")   -- turned on in the module
    assert.is_false(tags.value)
    tags.value = true
    tags.clicked_callback(tags)
    assert.is_true(dt.preferences.read("autocull", "write_tags", "bool"))
    for _, label in ipairs(VERDICT_BUTTONS) do
      assert.is_true(find(dt, "button", label).sensitive, label)
      assert.matches("show the photos AutoCull", find(dt, "button", label).tooltip)
    end
    assert.is_true(sd.api.show_verdict("reject"))

    dt.preferences.write("autocull", "write_tags", "bool", false)  -- turned off in lua options
    sd.api.sync_settings()
    assert.is_false(find(dt, "button", "rejects").sensitive)
  end)

  it("filters on the root the decisions' tags really have (the policy's keyword_root)", function()
    local dt = X.darktable({ gui = true })
    local sd = load_plugin(dt)
    sd.api.controller:learn_tag_root("reject", { "AutoCull|Culling|Reject", "AutoCull|Culling|Reject|Blurry" })
    find(dt, "button", "rejects").clicked_callback()
    local rules = dt.gui.libs.collect.current()
    assert.equals("AutoCull|Culling|Reject", rules[#rules].data)
  end)
end)

describe("settings in the module", function()
  it("show the preferences and write them back; changes in lua options show in the module", function()
    local dt = X.darktable({ gui = true })
    local sd = load_plugin(dt)
    local respect = find(dt, "check_button", "leave photos I rated alone")
    local imports = find(dt, "check_button", "auto-cull new imports")
    local notes = find(dt, "check_button", "reasons in the image's notes")
    local profile = find(dt, "entry")
    assert.is_true(respect.value)          -- the defaults, as in preferences
    assert.is_true(imports.value)
    assert.is_true(notes.value)
    assert.equals("", profile.text)

    respect.value = false                  -- the photographer clicks in the module
    respect.clicked_callback(respect)
    assert.is_false(dt.preferences.read("autocull", "respect_user_ratings", "bool"))
    assert.is_false(sd.api.controller.settings().respect_user_ratings)

    profile.text = "wedding"               -- typed; read before the next action
    find(dt, "button", "check daemon").clicked_callback()
    assert.equals("wedding", sd.api.controller.settings().profile)

    -- changed in preferences > lua options: the module shows it on the next sync
    dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
    dt.preferences.write("autocull", "profile", "string", "landscape")
    sd.api.sync_settings()
    assert.is_false(imports.value)
    assert.equals("landscape", profile.text)
    assert.equals("landscape", sd.api.controller.settings().profile)
  end)
end)

describe("start daemon", function()
  it("runs `autocull service start` with the program from the preferences, then checks the daemon", function()
    local dt = X.darktable({ gui = true })
    local sd = load_plugin(dt)
    local ran = {}
    local sys = { os = "linux", popen_read = function(cmd) ran[#ran + 1] = cmd; return "AUTOCULL_EXIT=0\n" end }
    -- the module's system calls go through the controller's sys
    for k, v in pairs(sys) do sd.api.controller.sys[k] = v end
    dt.preferences.write("autocull", "program", "string", "/opt/autocull/bin/autocull")
    dt.preferences.write("autocull", "home", "string", "/nonexistent/autocull-home")
    local r = find(dt, "button", "start daemon").clicked_callback()
    assert.equals("/opt/autocull/bin/autocull service start 2>&1; echo AUTOCULL_EXIT=$?", ran[1])
    assert.is_false(r.ok)                  -- no daemon appeared in this stand-in
    assert.matches("not running", r.message)
    assert.is_true(dt.sleeps > 0)          -- it waited for the service before checking
  end)
end)
