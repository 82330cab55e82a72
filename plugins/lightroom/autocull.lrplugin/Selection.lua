--[[
  Selection.lua - which photos a menu item works on.
  The selected photos; with none selected, the whole filmstrip after asking.
]]

local LrDialogs = import "LrDialogs"

local M = {}

-- @return list of LrPhoto, or nil when there is nothing (or the user declined)
function M.target_photos(catalog, ask_text)
  if catalog:getTargetPhoto() ~= nil then
    return catalog:getTargetPhotos()
  end
  local all = catalog:getTargetPhotos() or {}
  if #all == 0 then
    LrDialogs.message(LOC "$$$/AutoCull/Selection/NoneTitle=No photos to work on",
      LOC "$$$/AutoCull/Selection/None=Select some photos in the Library grid or filmstrip first.", "info")
    return nil
  end
  local answer = LrDialogs.confirm(
    LOC "$$$/AutoCull/Selection/AskTitle=No photos are selected",
    LOC("$$$/AutoCull/Selection/Ask=^1 Use all ^2 photos in the filmstrip?", ask_text or "", tostring(#all)),
    LOC "$$$/AutoCull/Selection/UseAll=Use all photos",
    LOC "$$$/AutoCull/Selection/Cancel=Cancel")
  if answer ~= "ok" then return nil end
  return all
end

return M
