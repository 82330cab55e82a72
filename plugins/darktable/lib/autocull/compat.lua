--[[
  autocull/compat.lua - the lua-scripts helpers AutoCull needs, with a fallback.

  When darktable-org/lua-scripts is installed (script_manager users) its
  lib/dtutils is used. A bare darktable (no lua-scripts) gets the same
  behaviour from the small functions below.
]]

local M = {}

--- -1 / 0 / 1 comparing "a.b.c" version strings numerically.
function M.compare_versions(a, b)
  local pa, pb = {}, {}
  for n in tostring(a):gmatch("%d+") do pa[#pa + 1] = tonumber(n) end
  for n in tostring(b):gmatch("%d+") do pb[#pb + 1] = tonumber(n) end
  for i = 1, math.max(#pa, #pb) do
    local x, y = pa[i] or 0, pb[i] or 0
    if x < y then return -1 end
    if x > y then return 1 end
  end
  return 0
end

--- lua-scripts' dtutils when available, else a stand-in with check_min_api_version.
function M.dtutils(dt)
  local ok, du = pcall(require, "lib/dtutils")
  if ok and type(du) == "table" and du.check_min_api_version then return du end
  return {
    check_min_api_version = function(min_api, script_name)
      local current = dt.configuration.api_version_string
      if M.compare_versions(min_api, current) > 0 then
        local msg = string.format("%s needs darktable Lua API %s or later; this darktable has %s",
          script_name, min_api, current)
        dt.print_error(msg)
        dt.print(msg)
        error(msg, 0)
      end
    end,
  }
end

return M
