--[[
  MenuStatus.lua - menu item (Library and File > Plug-in Extras); the work is in StatusTask.lua.
]]

local StatusTask = require "StatusTask"

StatusTask.start()
