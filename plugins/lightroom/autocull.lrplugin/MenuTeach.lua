--[[
  MenuTeach.lua - menu item (Library and File > Plug-in Extras); the work is in TeachTask.lua.
]]

local TeachTask = require "TeachTask"

TeachTask.start()
