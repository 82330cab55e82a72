--[[
  ShutdownApp.lua - runs when Lightroom quits (Info.lua: LrShutdownApp = "ShutdownApp.lua").

  The SDK calls LrShutdownFunction(doneFunction, progressFunction) and waits until
  doneFunction() is called; progressFunction(fraction, caption) shows how far it is.
  The background poller is told to stop and is given up to WAIT_SECONDS to finish the
  page it is writing (a catalog write is never cut in half), then Lightroom may quit.
]]

local LrTasks = import "LrTasks"

local BackgroundPoller = require "BackgroundPoller"

local WAIT_SECONDS = 10
local STEP = 0.2

return {
  LrShutdownFunction = function(doneFunction, progressFunction)
    BackgroundPoller.stop()
    LrTasks.startAsyncTask(function()
      local waited = 0
      while BackgroundPoller.is_running() and waited < WAIT_SECONDS do
        if progressFunction then
          progressFunction(waited / WAIT_SECONDS,
                           LOC "$$$/AutoCull/Shutdown/Waiting=AutoCull: finishing the results it is writing")
        end
        LrTasks.sleep(STEP)
        waited = waited + STEP
      end
      if progressFunction then progressFunction(1) end
      doneFunction()
    end, "AutoCull shutdown")
  end,
}
