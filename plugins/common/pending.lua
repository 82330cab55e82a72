--[[
  pending.lua - the list of photos a background result waits for (decided before they were
  imported into the host's catalog or library). Pure Lua 5.1, no host API; shared by both
  plugins (scripts/build_plugins.py copies it into each).

  A list holds paths, oldest first. A path decided again moves to the end. LIMIT is a safety
  bound only (a watched folder never imported, for years): when it is passed the oldest go,
  and the caller says so in its summary.

    M.add(list, paths, max) -> new list, how many of the oldest were dropped
    M.remove(list, paths)   -> new list, true when something was removed
]]

local M = {}

M.LIMIT = 200000

function M.add(list, paths, max)
  if #paths == 0 then return list, 0 end
  max = max or M.LIMIT
  local adding, out = {}, {}
  for _, p in ipairs(paths) do adding[p] = true end
  for _, p in ipairs(list) do
    if not adding[p] then out[#out + 1] = p end
  end
  for _, p in ipairs(paths) do
    if adding[p] then
      out[#out + 1] = p
      adding[p] = nil
    end
  end
  local dropped = math.max(0, #out - max)
  if dropped > 0 then
    local kept = {}
    for i = dropped + 1, #out do kept[#kept + 1] = out[i] end
    out = kept
  end
  return out, dropped
end

function M.remove(list, paths)
  if #paths == 0 or #list == 0 then return list, false end
  local gone, out = {}, {}
  for _, p in ipairs(paths) do gone[p] = true end
  for _, p in ipairs(list) do
    if not gone[p] then out[#out + 1] = p end
  end
  return out, #out ~= #list
end

return M
