--[[
  ShutdownPlugin.lua - runs when the plug-in is disabled, removed or reloaded
  (LrShutdownPlugin): stops the background poller.
]]

local BackgroundPoller = require "BackgroundPoller"

BackgroundPoller.stop()
