--[[
  lrview.lua - the stand-in's LrView, strict where the SDK reference is (loaded by lrsdk.lua).

  What it enforces, from the SDK's LrView reference ("View attributes" pages):
  - only the factory methods the reference documents exist (f:row, f:column, f:static_text,
    f:edit_field, f:checkbox, f:popup_menu, ...; f:control_spacing/dialog_spacing/label_spacing);
    f:anything_else raises.
  - each widget takes only the named properties documented for it (general view/layout
    properties, control properties, and its own: edit properties for edit_field, items/value for
    popup_menu, action for push_button, ...). A misspelt or undocumented property raises at
    construction, where Lightroom would ignore it silently (the bug a photographer sees).
  - alignment is 'left' | 'center' | 'right'; fill* are numbers 0..1; action/validate are functions.
  - popup_menu items are {title = string, value = ...} (or {separator = true}).
  - LrView.bind "key" / bind {key=, object=, bind_to_object=, transform=} / bind {keys=, operation=}.
  Bindings are checked against the object they bind to (the nearest bind_to_object, inherited
  from ancestors, or the binding's own object): V.check(node or section) raises when a binding
  has no object, or its key is not set in the bound table, or a popup's value is not one of its
  items. The key check is stricter than Lightroom on purpose: Lightroom shows nil (an unticked
  box, an empty popup) where the stand-in raises, because a misspelt key is the bug it catches.
  A node created with bind_to_object checks its own subtree at once; the dialog/section is
  checked as a whole by V.check (tests call it on presentModalDialog contents and on the
  Plug-in Manager sections).

  Nodes keep the shape older specs walk: {kind = "edit_field", args = {...}, bind_to_object = t};
  a binding is {bind = "key", ...}.
]]

local M = {}

local function set(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

local function merge(...)
  local out = {}
  for _, s in ipairs { ... } do for k in pairs(s) do out[k] = true end end
  return out
end

-- "View properties" (all views) and the layout properties every view takes.
local VIEW = set { "bind_to_object", "tooltip", "visible", "identifier" }
local LAYOUT = set { "width", "height", "fill", "fill_horizontal", "fill_vertical", "place_horizontal",
                     "place_vertical", "margin", "margin_horizontal", "margin_vertical", "margin_left",
                     "margin_right", "margin_top", "margin_bottom" }
-- "Control view properties"
local CONTROL = set { "enabled", "font", "size" }
-- containers (row, column, view, group_box, scrolled_view)
local CONTAINER = set { "spacing", "place" }
-- "Text view properties" (static_text)
local TEXT = set { "title", "alignment", "text_color", "height_in_lines", "width_in_chars", "truncation",
                   "mouse_down", "selectable" }
-- "Edit view properties" (edit_field, combo_box, password_field)
local EDIT = set { "value", "alignment", "auto_completion", "completion", "value_delimiters", "immediate",
                   "increment", "large_increment", "max", "min", "placeholder_string", "precision",
                   "string_to_value", "text_color", "validate", "value_to_string", "wraps",
                   "width_in_chars", "width_in_digits", "height_in_lines", "allow_newlines" }
local NUMERIC_EDIT = set { "min", "max", "precision", "increment", "large_increment" }

local BASE = merge(VIEW, LAYOUT)
local WIDGETS = {
  row = merge(BASE, CONTAINER),
  column = merge(BASE, CONTAINER),
  view = merge(BASE, CONTAINER),
  group_box = merge(BASE, CONTAINER, CONTROL, set { "title", "show_title" }),
  scrolled_view = merge(BASE, CONTAINER, set { "horizontal_scroller", "vertical_scroller", "background_color",
                                               "border_enabled" }),
  tab_view = merge(BASE, CONTROL, set { "value" }),
  tab_view_item = merge(BASE, CONTAINER, set { "title", "identifier" }),
  spacer = merge(LAYOUT),
  separator = merge(BASE),
  static_text = merge(BASE, CONTROL, TEXT),
  edit_field = merge(BASE, CONTROL, EDIT),
  password_field = (function()
    local s = merge(BASE, CONTROL, EDIT)
    for k in pairs(NUMERIC_EDIT) do s[k] = nil end
    return s
  end)(),
  combo_box = (function()
    local s = merge(BASE, CONTROL, EDIT, set { "items" })
    for k in pairs(NUMERIC_EDIT) do s[k] = nil end
    return s
  end)(),
  checkbox = merge(BASE, CONTROL, set { "title", "value", "checked_value", "unchecked_value" }),
  radio_button = merge(BASE, CONTROL, set { "title", "value", "checked_value" }),
  popup_menu = merge(BASE, CONTROL, set { "items", "value", "value_equal", "width_in_chars" }),
  push_button = merge(BASE, CONTROL, set { "title", "action" }),
  slider = merge(BASE, CONTROL, set { "value", "min", "max", "integral" }),
  simple_list = merge(BASE, CONTROL, set { "items", "value", "allows_multiple_selection" }),
  picture = merge(BASE, set { "value", "frame_width", "frame_color" }),
  color_well = merge(BASE, CONTROL, set { "value" }),
  catalog_photo = merge(BASE, set { "photo", "frame_width", "frame_color", "background_color" }),
}
M.WIDGETS = WIDGETS

-- Properties of a Plug-in Manager section (sectionsForTopOfDialog / sectionsForBottomOfDialog):
-- a column with a title and synopsis.
local SECTION = merge(BASE, CONTAINER, set { "title", "synopsis" })

local ALIGN = set { "left", "center", "right" }
local PLACE = set { "horizontal", "vertical", "overlapping" }

local Binding = {}
Binding.__index = Binding
local Share = {}
Share.__index = Share

local function is_binding(v) return getmetatable(v) == Binding end
local function is_share(v) return getmetatable(v) == Share end
M.is_binding = is_binding

-- Lua 5.1: error levels count from the caller of the factory method
local function fail(msg) error("LrView: " .. msg, 4) end

local function check_value(kind, key, v)
  if is_binding(v) then return end
  if key == "alignment" then
    if not ALIGN[v] then fail(kind .. ".alignment must be 'left', 'center' or 'right', got " .. tostring(v)) end
  elseif key == "fill" or key == "fill_horizontal" or key == "fill_vertical" then
    if type(v) ~= "number" or v < 0 or v > 1 then fail(kind .. "." .. key .. " must be a number 0..1, got " .. tostring(v)) end
  elseif key == "place" then
    if not PLACE[v] then fail(kind .. ".place must be 'horizontal', 'vertical' or 'overlapping'") end
  elseif key == "action" or key == "validate" or key == "string_to_value" or key == "value_to_string" then
    if type(v) ~= "function" then fail(kind .. "." .. key .. " must be a function") end
  elseif key == "width" or key == "height" then
    if type(v) ~= "number" and not is_share(v) then fail(kind .. "." .. key .. " must be a number or LrView.share") end
  elseif key == "width_in_chars" or key == "height_in_lines" or key == "width_in_digits" or key == "spacing"
      or key == "precision" or key == "min" or key == "max" then
    if type(v) ~= "number" then fail(kind .. "." .. key .. " must be a number, got " .. type(v)) end
  elseif key == "title" or key == "tooltip" or key == "synopsis" or key == "placeholder_string" then
    if type(v) ~= "string" then fail(kind .. "." .. key .. " must be a string, got " .. type(v)) end
  elseif key == "bind_to_object" then
    if type(v) ~= "table" then fail(kind .. ".bind_to_object must be a property table") end
  elseif key == "items" and kind ~= "combo_box" then
    if type(v) ~= "table" then fail(kind .. ".items must be a table or a binding") end
  end
end

-- popup_menu / simple_list items: {title=, value=} or {separator = true}
local function check_items(kind, items, where)
  for i, item in ipairs(items) do
    if type(item) ~= "table" then
      error(string.format("LrView: %s item %d must be a {title=, value=} table%s", kind, i, where or ""), 0)
    end
    if not item.separator then
      if type(item.title) ~= "string" then
        error(string.format("LrView: %s item %d needs a string title%s", kind, i, where or ""), 0)
      end
      if item.value == nil then
        error(string.format("LrView: %s item %d (%s) needs a value%s", kind, i, item.title, where or ""), 0)
      end
    end
  end
end

local function validate(kind, allowed, args)
  if type(args) ~= "table" then fail(kind .. " takes a table of properties") end
  for k, v in pairs(args) do
    if type(k) == "string" then
      if not allowed[k] then fail(kind .. " has no documented property '" .. k .. "'") end
      check_value(kind, k, v)
    elseif type(k) == "number" then
      if type(v) ~= "table" or v.kind == nil then
        fail(kind .. ": child " .. k .. " is not a view (" .. type(v) .. ")")
      end
    end
  end
  if kind == "popup_menu" and type(args.items) == "table" and not is_binding(args.items) then
    check_items(kind, args.items)
  end
end

-- Bindings -----------------------------------------------------------------------------------
local function binding_keys(b)
  if b.keys then
    local out = {}
    for _, k in ipairs(b.keys) do out[#out + 1] = type(k) == "table" and k.key or k end
    return out
  end
  return { b.bind }
end

local function resolve(b, obj)
  return b.object or b.bind_to_object or obj
end

local function check_binding(where, b, obj)
  local target = resolve(b, obj)
  if target == nil then
    error("LrView: " .. where .. " is bound to '" .. tostring(b.bind) .. "' but no bind_to_object is set above it", 0)
  end
  for _, key in ipairs(binding_keys(b)) do
    if type(key) ~= "string" or key == "" then error("LrView: " .. where .. ": binding key must be a non-empty string", 0) end
    if target[key] == nil then
      error("LrView: " .. where .. " is bound to '" .. key .. "', which is not set in the bound property table", 0)
    end
  end
end

local function value_of(v, obj)
  if is_binding(v) then
    local target = resolve(v, obj)
    local x = target and target[v.bind]
    if v.transform then x = v.transform(x, true) end
    return x
  end
  return v
end

-- Walk a tree: every binding resolves against the nearest bind_to_object.
local function walk(node, obj, path, stop_at_objects)
  local args = node.args or node
  local own = args.bind_to_object
  obj = own or obj
  local kind = node.kind or "section"
  local here = path .. "/" .. kind
  for k, v in pairs(args) do
    if type(k) == "string" and is_binding(v) then check_binding(here .. "." .. k, v, obj) end
  end
  if kind == "popup_menu" then
    local items = value_of(args.items, obj)
    if type(items) ~= "table" then error("LrView: " .. here .. ".items is not a list", 0) end
    check_items(kind, items, " (" .. here .. ")")
    local value = value_of(args.value, obj)
    if args.value ~= nil then
      local found = false
      for _, item in ipairs(items) do if not item.separator and item.value == value then found = true end end
      if not found then
        error("LrView: " .. here .. ": value " .. tostring(value) .. " is not one of its items (the popup would show blank)", 0)
      end
    end
  end
  for i, child in ipairs(args) do
    if type(child) == "table" and child.kind then
      if not (stop_at_objects and child.args.bind_to_object) then
        walk(child, obj, here .. "[" .. i .. "]", stop_at_objects)
      end
    end
  end
end

-- Check a dialog's contents or a Plug-in Manager section (bindings, popup items and values).
function M.check(node, obj)
  if node.kind == nil then
    -- a Plug-in Manager section is a plain table: its keys are checked as a section's
    for k, v in pairs(node) do
      if type(k) == "string" and not SECTION[k] then error("LrView: a section has no documented property '" .. k .. "'", 2) end
      if type(k) == "number" and (type(v) ~= "table" or v.kind == nil) then
        error("LrView: section child " .. k .. " is not a view", 2)
      end
    end
  end
  walk(node, obj, "", false)
  return true
end

function M.new()
  local V = {}
  local factory_methods = {
    control_spacing = function() return 8 end,
    dialog_spacing = function() return 12 end,
    label_spacing = function() return 4 end,
  }
  local Factory = {}
  Factory.__index = function(_, name)
    if factory_methods[name] then return factory_methods[name] end
    local allowed = WIDGETS[name]
    if not allowed then error("LrView: the view factory has no method '" .. tostring(name) .. "'", 2) end
    return function(self, args)
      if getmetatable(self) ~= Factory then error("LrView: call f:" .. name .. " { ... } with a colon", 2) end
      args = args or {}
      validate(name, allowed, args)
      local node = { kind = name, args = args, bind_to_object = args.bind_to_object }
      if args.bind_to_object then walk(node, nil, "", true) end
      return node
    end
  end
  function V.osFactory() return setmetatable({}, Factory) end

  function V.bind(x)
    if type(x) == "string" then return setmetatable({ bind = x }, Binding) end
    if type(x) ~= "table" then error("LrView.bind takes a key or a table", 2) end
    for k in pairs(x) do
      if not (k == "key" or k == "keys" or k == "object" or k == "bind_to_object" or k == "transform"
              or k == "operation") then
        error("LrView.bind: unknown argument '" .. tostring(k) .. "'", 2)
      end
    end
    if x.key == nil and x.keys == nil then error("LrView.bind needs key or keys", 2) end
    if x.keys and type(x.operation) ~= "function" then error("LrView.bind { keys = } needs an operation function", 2) end
    return setmetatable({ bind = x.key, keys = x.keys, object = x.object, bind_to_object = x.bind_to_object,
                          transform = x.transform, operation = x.operation }, Binding)
  end
  function V.share(x) return setmetatable({ share = x }, Share) end
  V.check = M.check
  return V
end

return M
