--[[
  autocull/settings_panel.lua - the module's own settings, kept in step with
  preferences > lua options.

  Both show the same dt.preferences keys. A check button writes its key when
  clicked; an entry has no change callback in darktable's Lua API, so sync()
  (called before every action and when the module is shown) writes what the
  photographer typed in the module, or shows what they changed in the
  preferences dialog: whichever side changed since the last sync wins.
]]

local M = {}

--- Bind widgets to preference keys.
-- @param read function(name, kind) -> value (the plugin's pref(), defaults applied)
-- @param write function(name, kind, value)
-- @param fields list of {name, kind ("bool"|"string"), widget}
function M.new(read, write, fields)
  local panel = { fields = fields, last = {} }
  for _, f in ipairs(fields) do
    local v = read(f[1], f[2])
    if f[2] == "bool" then f[3].value = v and true or false else f[3].text = v or "" end
    panel.last[f[1]] = v
  end

  function panel.sync()
    for _, f in ipairs(panel.fields) do
      local name, kind, w = f[1], f[2], f[3]
      local shown
      if kind == "bool" then shown = w.value and true or false else shown = w.text or "" end
      local stored = read(name, kind)
      if shown ~= panel.last[name] then          -- changed in the module
        write(name, kind, shown)
        panel.last[name] = shown
      elseif stored ~= shown then                -- changed in the preferences dialog
        if kind == "bool" then w.value = stored and true or false else w.text = stored or "" end
        panel.last[name] = stored
      end
    end
  end

  --- A check button was clicked: write it now.
  function panel.toggled(name)
    panel.sync()
    return read(name, "bool")
  end

  return panel
end

return M
