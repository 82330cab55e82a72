--[[
  MenuCollections.lua - menu item "Create AutoCull collections" (Library > Plug-in Extras):
  makes (again, if deleted) the AutoCull set of smart collections; the work is in Collections.lua.
]]

local Collections = require "Collections"

Collections.start()
