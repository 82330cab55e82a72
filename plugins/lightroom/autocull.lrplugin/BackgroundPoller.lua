--[[
  BackgroundPoller.lua - applies background results while Lightroom runs, when the
  option "Apply background results automatically" is on (Plug-in Manager).
  One task at most; it checks the option every second and stops when it is turned off,
  the plug-in shuts down (ShutdownPlugin.lua) or Lightroom quits (ShutdownApp.lua, which
  waits for it). A run in progress stops between pages of results. Failures (daemon down)
  are logged, never shown.
]]

local LrTasks = import "LrTasks"

local ApplyChangesTask = require "ApplyChangesTask"
local Log = require "Log"
local Prefs = require "Prefs"

local M = {}

local running = false
local stopping = false

function M.is_running() return running end
function M.is_stopping() return stopping end

local function should_stop() return stopping end

local function loop()
  running = true
  Log.info("background poller started")
  local waited = 0
  while not stopping do
    local prefs = Prefs.get()
    if not prefs.autoApply then break end
    if waited >= (tonumber(prefs.pollSeconds) or 60) then
      waited = 0
      local ok, err = LrTasks.pcall(ApplyChangesTask.run, true, should_stop)
      if not ok then Log.info("background poll failed: " .. tostring(err)) end
    end
    if stopping then break end
    LrTasks.sleep(1)
    waited = waited + 1
  end
  running = false
  Log.info("background poller stopped")
end

-- Start the poller if the option is on and it is not running yet.
function M.ensure()
  stopping = false
  if running or not Prefs.get().autoApply then return false end
  running = true
  LrTasks.startAsyncTask(loop, "AutoCull background poller")
  return true
end

function M.stop()
  stopping = true
end

return M
