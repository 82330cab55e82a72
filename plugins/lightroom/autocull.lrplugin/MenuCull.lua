--[[
  MenuCull.lua - menu item (Library and File > Plug-in Extras); the work is in CullTask.lua.
]]

local CullTask = require "CullTask"

CullTask.start()
