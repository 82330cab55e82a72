--[[
  More of darktable 4.2.1 for the busted specs, on top of spec/support/fakes.lua:

    * image.notes (a string, "" when empty), as the Lua API 9.0.0 has it;
    * the XMP sidecar as darktable writes it: a rating, notes or tag write writes
      the whole sidecar from the library; a colour label write does not
      (seen in real darktable; tests/test_darktable_host.py checks the real one);
    * darktable.gui.libs.collect: new_rule() and filter(rules) -> the rules before;
    * widgets: check_button (value), entry (text), section_label.
]]

local F = require "spec.support.fakes"

local X = {}

local LABELS = { "red", "yellow", "green", "blue", "purple" }

local function library_state(image)
  local labels = {}
  for _, l in ipairs(LABELS) do if image._raw[l] then labels[#labels + 1] = l end end
  local tags = {}
  for _, t in ipairs(image._tags) do tags[#tags + 1] = t.name end
  return { rating = image._raw.rating, labels = table.concat(labels, ","), notes = image._notes,
           tags = table.concat(tags, ",") }
end
X.library_state = library_state

local function extend_image(dt, img)
  local meta = getmetatable(img)
  rawset(img, "_notes", "")
  rawset(img, "_sidecar", library_state(img))
  dt.sidecar_writes = dt.sidecar_writes or 0
  local function write_sidecar()
    rawset(img, "_sidecar", library_state(img))
    dt.sidecar_writes = dt.sidecar_writes + 1
  end
  setmetatable(img, {
    __index = function(t, k)
      if k == "notes" then return img._notes end
      return meta.__index(t, k)
    end,
    __newindex = function(t, k, v)
      if k == "notes" then
        assert(type(v) == "string", "notes takes a string")
        rawset(img, "_notes", v)
        dt.writes[#dt.writes + 1] = { image = img.filename, field = "notes", value = v }
        write_sidecar()
        return
      end
      meta.__newindex(t, k, v)
      if k == "rating" then write_sidecar() end   -- labels: library only, as in darktable 4.2.1
    end,
  })
  rawset(img, "_write_sidecar", write_sidecar)
  return img
end

--- F.darktable(opts) plus notes, sidecars and the collect module.
function X.darktable(opts)
  local dt = F.darktable(opts)
  local add = dt.add_image
  function dt.add_image(...)
    return extend_image(dt, add(...))
  end
  local attach, detach = dt.tags.attach, dt.tags.detach
  function dt.tags.attach(tag, image)
    attach(tag, image)
    if image._write_sidecar then image._write_sidecar() end
  end
  function dt.tags.detach(tag, image)
    detach(tag, image)
    if image._write_sidecar then image._write_sidecar() end
  end
  if dt.gui then
    local current = { { mode = "DT_LIB_COLLECT_MODE_AND", item = "DT_COLLECTION_PROP_FILMROLL",
                        data = "/photos/2024 wedding" } }
    dt.collect_calls = {}
    dt.gui.libs.collect = {
      new_rule = function() return { mode = "DT_LIB_COLLECT_MODE_AND", item = "DT_COLLECTION_PROP_FILMROLL",
                                     data = "" } end,
      filter = function(rules)
        local before = current
        if rules ~= nil then
          assert(#rules <= 10, "Number of rules given exceeds max allowed (10)")
          for _, r in ipairs(rules) do
            assert(type(r.mode) == "string" and r.mode:match("^DT_LIB_COLLECT_MODE_"), "rule mode")
            assert(type(r.item) == "string" and r.item:match("^DT_COLLECTION_PROP_"), "rule item")
            assert(type(r.data) == "string", "rule data")
          end
          current = rules
          dt.collect_calls[#dt.collect_calls + 1] = rules
        end
        return before
      end,
      current = function() return current end,
    }
  end
  return dt
end

return X
