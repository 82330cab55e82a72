--[[
  MenuApplyChanges.lua - menu item (Library and File > Plug-in Extras); the work is in ApplyChangesTask.lua.
]]

local ApplyChangesTask = require "ApplyChangesTask"

ApplyChangesTask.start()
