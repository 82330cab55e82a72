-- busted --lua=lua5.1 plugins/lightroom/spec : every dialog the plug-in builds, through the strict LrView
local spec_dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "plugins/lightroom/spec"
local plugin_dir = spec_dir .. "/../autocull.lrplugin"
package.path = spec_dir .. "/support/?.lua;" .. plugin_dir .. "/?.lua;" .. package.path

local lrsdk = require "lrsdk"

local function setup()
  local S = lrsdk.new { plugin_dir = plugin_dir }:install()
  S.prefs.stateFile = "/nonexistent/autocull/state.json" -- the daemon is not running
  S.http.transport = function() return nil, { errorCode = "cannotConnectToHost", name = "down" } end
  return S, S:import("LrView")
end

describe("the stand-in's LrView is strict where the SDK is", function()
  it("refuses a factory method the SDK does not have", function()
    local _, LrView = setup()
    local f = LrView.osFactory()
    assert.has_error(function() return f:text_field { value = "x" } end)
    assert.has_error(function() return f:button { title = "x" } end)
  end)

  it("refuses an undocumented or misspelt property", function()
    local _, LrView = setup()
    local f = LrView.osFactory()
    assert.has_error(function() return f:checkbox { titel = "Stars" } end, nil)
    assert.has_error(function() return f:static_text { title = "x", action = function() end } end)
    assert.has_error(function() return f:popup_menu { items = {}, immediate = true } end)
    assert.has_error(function() return f:edit_field { value = "x", alignment = "middle" } end)
    assert.has_error(function() return f:static_text { title = 3 } end)
    -- documented ones pass
    assert.is_table(f:edit_field { value = "x", immediate = true, width_in_chars = 5, min = 1, max = 9, precision = 0 })
  end)

  it("refuses a binding to a key the bound table does not have, and a binding with no object", function()
    local _, LrView = setup()
    local f = LrView.osFactory()
    local props = { writeRatings = true }
    assert.has_error(function()
      return f:column { bind_to_object = props, f:checkbox { title = "Stars", value = LrView.bind "writeRating" } }
    end)
    assert.is_table(f:column { bind_to_object = props, f:checkbox { title = "Stars", value = LrView.bind "writeRatings" } })
    local orphan = f:column { f:checkbox { title = "Stars", value = LrView.bind "writeRatings" } }
    assert.has_error(function() LrView.check(orphan) end)
    assert.has_error(function() LrView.bind { key = "x", trasnform = function() end } end)
  end)

  it("refuses popup items without title and value, and a value that is none of its items", function()
    local _, LrView = setup()
    local f = LrView.osFactory()
    assert.has_error(function() return f:popup_menu { items = { "a", "b" } } end)
    assert.has_error(function() return f:popup_menu { items = { { title = "A" } } } end)
    local props = { preset = "gone" }
    assert.has_error(function()
      return f:column { bind_to_object = props,
                        f:popup_menu { items = { { title = "Active", value = "" } }, value = LrView.bind "preset" } }
    end)
  end)
end)

describe("every dialog the plug-in builds passes the strict LrView", function()
  it("the cull options dialog", function()
    local S, LrView = setup()
    local checked
    S.dialogs.on_modal = function(args)
      checked = LrView.check(args.contents)
      assert.is_string(args.title)
      assert.is_string(args.actionVerb)
    end
    local Prefs = require "Prefs"
    local Dialog = require "CullOptionsDialog"
    local prefs = Prefs.get()
    prefs.preset = "deleted-on-the-daemon"
    local options
    S.tasks.startAsyncTask(function()
      S.namespaces.LrFunctionContext.callWithContext("dialog", function(context)
        options = Dialog.run(context, prefs, { { name = "default", description = "Balanced" } }, 3)
      end)
    end)
    S:run_tasks()
    assert.are.same({}, S.tasks.errors)
    assert.is_true(checked)
    assert.are.equal("", options.preset) -- fell back to the daemon's active policy
  end)

  it("the Plug-in Manager sections, with the daemon down and a saved preset", function()
    local S, LrView = setup()
    S.prefs.preset = "strict"
    local provider = dofile(plugin_dir .. "/PluginInfoProvider.lua")
    local props = S:import("LrBinding").makePropertyTable()
    provider.startDialog(props)
    local f = LrView.osFactory()
    local sections = provider.sectionsForTopOfDialog(f, props)
    for _, s in ipairs(provider.sectionsForBottomOfDialog(f, props)) do sections[#sections + 1] = s end
    assert.are.equal(2, #sections)
    for _, section in ipairs(sections) do assert.is_true(LrView.check(section)) end
    S:run_tasks() -- the status check fails (daemon down); the sections still check
    assert.are.same({}, S.tasks.errors)
    for _, section in ipairs(sections) do assert.is_true(LrView.check(section)) end
    assert.are.equal("strict", props.preset)
    provider.endDialog(props)
    assert.are.equal("strict", S.prefs.preset)
  end)

  it("the Plug-in Manager button makes the AutoCull collections", function()
    local S, LrView = setup()
    local provider = dofile(plugin_dir .. "/PluginInfoProvider.lua")
    local props = S:import("LrBinding").makePropertyTable()
    provider.startDialog(props)
    local section = provider.sectionsForBottomOfDialog(LrView.osFactory(), props)[1]
    local button
    local function find(node)
      if node.kind == "push_button" then button = node end
      for _, child in ipairs(node.args or node) do if type(child) == "table" then find(child) end end
    end
    find(section)
    button.args.action(button)
    S:run_tasks()
    assert.are.same({}, S.tasks.errors)
    assert.matches("^Made", props.collectionsStatus)
    assert.are.equal("AutoCull", S.catalog:getChildCollectionSets()[1]:getName())
  end)
end)
