--[[
  autocull/sidecar_sync.lua - make the XMP sidecar agree with the library.

  Seen in darktable 4.2.1 (Lua API 9.0.0, tests/test_darktable_host.py checks it):
  writing image.red/yellow/green/blue/purple updates library.db but not the
  sidecar; writing image.rating, image.notes or attaching a tag writes the whole
  sidecar (labels included) from the library, honouring darktable's own "write
  sidecar files" preference. image:write_sidecar_file() does not exist before Lua
  API 9.2, and a rating write works in every version. So after AutoCull's last write on an image, and only
  when it wrote something, the image's rating is written again, unchanged: darktable
  then writes the sidecar with everything, labels too. Writing -1 to a rejected
  image keeps it rejected (no toggle), so the value never changes.
]]

local M = {}

--- Write the image's sidecar through darktable's own path.
-- @param wrote_last_with_sync true when AutoCull's last write already wrote the sidecar
--        (notes after every other field)
-- @return true when a sync write was made
function M.after_writes(image, changed, wrote_last_with_sync)
  if wrote_last_with_sync then return false end
  if not changed or #changed == 0 then return false end
  local rating = image.rating
  image.rating = rating
  return true
end

return M
