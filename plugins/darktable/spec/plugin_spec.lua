local F = require "spec.support.fakes"

local function load_plugin(dt)
  package.loaded["darktable"] = dt
  local ok, sd = pcall(dofile, "autocull.lua")
  package.loaded["darktable"] = nil
  assert(ok, sd)
  return sd
end

describe("autocull.lua without a GUI (darktable-cli --core)", function()
  it("loads, registers no preference dialog entries and exposes the button functions", function()
    local dt = F.darktable()
    local sd = load_plugin(dt)
    assert.same({}, dt.registered_prefs)
    for _, name in ipairs({ "cull_selected", "teach", "apply_background", "status", "cancel", "flush_imports" }) do
      assert.is_function(sd.api[name], name)
    end
    assert.is_function(sd.destroy)
    assert.is_truthy(dt.events["autocull/post-import-image"])
    assert.is_truthy(dt.events["autocull/post-import-film"])
    assert.equals("AutoCull", sd.metadata.name)
  end)

  it("uses the defaults for preferences never set (leave rated images alone: on)", function()
    local dt = F.darktable()
    local sd = load_plugin(dt)
    local s = sd.api.controller.settings()
    assert.is_true(s.respect_user_ratings)
    assert.is_true(s.write_tags)
    assert.equals("curl", s.curl)
    assert.equals("", s.profile)        -- the daemon's active taste profile
    dt.preferences.write("autocull", "profile", "string", "wedding")
    assert.equals("wedding", sd.api.controller.settings().profile)
    dt.preferences.write("autocull", "respect_user_ratings", "bool", false)
    assert.is_false(sd.api.controller.settings().respect_user_ratings)
  end)

  it("post-import-image only queues, and only when auto-cull on import is on", function()
    local dt = F.darktable()
    local sd = load_plugin(dt)
    local img = dt.add_image("/p", "x.jpg", 1)
    dt.events["autocull/post-import-image"].fn("post-import-image", img)
    assert.equals(1, sd.api.queue_length())
    assert.equals(1, dt.dispatched)       -- one idle flusher, not one per image
    dt.events["autocull/post-import-image"].fn("post-import-image", dt.add_image("/p", "y.jpg", 1))
    assert.equals(2, sd.api.queue_length())
    assert.equals(1, dt.dispatched)
    dt.preferences.write("autocull", "auto_tag_imports", "bool", false)
    dt.events["autocull/post-import-image"].fn("post-import-image", dt.add_image("/p", "z.jpg", 1))
    assert.equals(2, sd.api.queue_length())
  end)

  it("leaves package.path alone and loads its helpers only by their lib/autocull/ names", function()
    for name in pairs(package.loaded) do
      if name:find("autocull", 1, true) then package.loaded[name] = nil end
    end
    local before_path = package.path
    local before = {}
    for name in pairs(package.loaded) do before[name] = true end
    load_plugin(F.darktable())
    assert.equals(before_path, package.path)
    local added = {}
    for name in pairs(package.loaded) do
      if not before[name] then added[#added + 1] = name end
    end
    table.sort(added)
    -- every module the script loaded is one of ours, by its namespaced name (no bare "dkjson")
    for _, name in ipairs(added) do assert.matches("^lib/autocull/[%w_]+$", name) end
    for _, name in ipairs({ "compat", "dkjson", "decision_map", "system", "ledger", "controller", "http" }) do
      assert.is_true(package.loaded["lib/autocull/" .. name] ~= nil, name)
    end
  end)

  it("refuses an older darktable Lua API with a clear message", function()
    local dt = F.darktable({ api = "8.0.0" })
    package.loaded["darktable"] = dt
    local ok, err = pcall(dofile, "autocull.lua")
    package.loaded["darktable"] = nil
    assert.is_false(ok)
    assert.matches("9.0.0", err)
  end)

  it("destroy removes every event it registered", function()
    local dt = F.darktable()
    local sd = load_plugin(dt)
    sd.destroy()
    assert.same({}, dt.events)
  end)
end)

describe("autocull.lua with a GUI", function()
  it("registers the lighttable module, its preferences and a shortcut per button", function()
    local dt = F.darktable({ gui = true })
    local sd = load_plugin(dt)
    assert.equals(1, #dt.libs_registered)
    assert.equals("autocull", dt.libs_registered[1].name)
    local labels = {}
    for _, w in ipairs(dt.libs_registered[1].widget) do labels[#labels + 1] = w.label end
    -- the actions first; below them the "show AutoCull's" row, "start daemon" and the settings
    -- (spec/module_spec.lua tests those)
    assert.same({ "auto-cull selected", "teach from my ratings", "apply background results", "check daemon",
                  "AutoCull: idle" }, { (table.unpack or unpack)(labels, 1, 5) })
    for _, name in ipairs({ "autocull_cull", "autocull_teach", "autocull_background" }) do
      assert.is_truthy(dt.events[name .. "/shortcut"], name)
    end
    assert.is_truthy(dt.registered_prefs.respect_user_ratings)
    assert.is_true(dt.registered_prefs.respect_user_ratings.default)
    assert.same({ kind = "string", default = "" }, dt.registered_prefs.profile)
    assert.equals("hide", sd.destroy_method)
  end)

  it("the button acts on dt.gui.action_images and shows a cancellable job", function()
    local dt = F.darktable({ gui = true })
    local sd = load_plugin(dt)
    local img = dt.add_image("/p", "x.jpg", 1)
    dt.gui.action_images = { img }
    -- no daemon here (a folder without state.json): the button reports clearly and writes nothing
    dt.preferences.write("autocull", "home", "string", "/nonexistent/autocull-home")
    local r = dt.libs_registered[1].widget[1].clicked_callback()
    r = sd.api.cull_selected()
    assert.is_false(r.ok)
    assert.matches("nothing was changed", r.message)
    assert.equals(1, img.rating)
    assert.matches("nothing was changed", dt.printed[#dt.printed])
  end)

  it("destroy hides the module and removes shortcuts and events; restart brings them back", function()
    local dt = F.darktable({ gui = true })
    local sd = load_plugin(dt)
    sd.destroy()
    assert.same({}, dt.events)
    assert.is_false(dt.gui.libs.autocull.visible)
    sd.restart()
    assert.is_true(dt.gui.libs.autocull.visible)
    assert.is_truthy(dt.events["autocull_cull/shortcut"])
  end)
end)
