--[[
  autocull/notes.lua - AutoCull's reasons in the image's "notes" metadata.

  Why notes and not description: description is the caption (Xmp.dc.description,
  IPTC caption) that photographers write for clients and that web galleries and
  agencies show; notes (Xmp.acdsee.notes) is the free field for the
  photographer's own remarks. Both are shown in the image information panel and
  the metadata editor, and both go into exported files unless the field is marked
  "private" in the metadata editor's preferences; notes can be made private
  without hiding the photographer's captions (README says how).

  The photographer's own text is kept: only the one line starting with
  "AutoCull:" is AutoCull's, and only that line is replaced. Pure functions
  (plus write(), which touches image.notes only).
]]

local M = {}

M.PREFIX = "AutoCull:"
M.MAX_BYTES = 1000   -- one readable line; the daemon's reasons are short sentences

local function one_line(s)
  return (tostring(s):gsub("[\r\n]+", " "):gsub("%s+", " "):match("^%s*(.-)%s*$"))
end

--- "AutoCull: reject - subject blurred: sharpness 0.12 < 0.30; too dark" (nil without a verdict).
function M.line(verdict, reasons)
  if not verdict then return nil end
  local parts = {}
  for _, r in ipairs(type(reasons) == "table" and reasons or {}) do
    local s = one_line(r)
    if s ~= "" then parts[#parts + 1] = s end
  end
  local text = M.PREFIX .. " " .. verdict
  if #parts > 0 then text = text .. " - " .. table.concat(parts, "; ") end
  if #text > M.MAX_BYTES then
    text = text:sub(1, M.MAX_BYTES - 3)
    -- never cut a UTF-8 character in half
    while #text > 0 and text:byte(#text) >= 0x80 and text:byte(#text) < 0xC0 do text = text:sub(1, -2) end
    if #text > 0 and text:byte(#text) >= 0xC0 then text = text:sub(1, -2) end
    text = text .. "..."
  end
  return text
end

local function is_ours(line)
  return line:sub(1, #M.PREFIX) == M.PREFIX
end

--- The notes with AutoCull's line replaced (or added after the photographer's text).
-- `line` nil removes AutoCull's line. The photographer's lines stay as they were.
function M.merge(existing, line)
  existing = existing or ""
  local kept, replaced = {}, false
  for l in (existing .. "\n"):gmatch("(.-)\r?\n") do
    if is_ours(l) then
      if line and not replaced then kept[#kept + 1] = line end
      replaced = true
    else
      kept[#kept + 1] = l
    end
  end
  -- drop the empty line the split leaves at the end of a text that ended with a newline
  while #kept > 0 and kept[#kept] == "" do kept[#kept] = nil end
  if line and not replaced then kept[#kept + 1] = line end
  return table.concat(kept, "\n")
end

--- Write AutoCull's line for `actions` into image.notes when it differs.
-- @return true when the notes were written
function M.write(image, actions)
  local line = M.line(actions.verdict, actions.reasons)
  if not line then return false end
  local ok, before = pcall(function() return image.notes end)
  if not ok or type(before) ~= "string" then return false end   -- a darktable without the notes field
  local after = M.merge(before, line)
  if after == (before or "") then return false end
  image.notes = after
  return true
end

return M
