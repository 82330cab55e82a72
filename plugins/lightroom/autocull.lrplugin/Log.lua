--[[
  Log.lua - the plug-in's log (LrLogger "AutoCull", written to the Lightroom logs folder).
]]

local LrLogger = import "LrLogger"

local logger = LrLogger("AutoCull")
logger:enable("logfile")

local M = {}

function M.info(message)
  logger:info(tostring(message))
end

return M
