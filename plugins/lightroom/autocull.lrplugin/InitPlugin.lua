--[[
  InitPlugin.lua - runs when Lightroom loads the plug-in (LrInitPlugin, forced at start):
  starts the background poller when "Apply background results automatically" is on.
]]

local BackgroundPoller = require "BackgroundPoller"

BackgroundPoller.ensure()
