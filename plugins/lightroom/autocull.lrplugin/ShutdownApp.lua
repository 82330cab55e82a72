--[[
  ShutdownApp.lua - runs when Lightroom quits (Info.lua: LrShutdownApp = "ShutdownApp.lua").

  The SDK calls LrShutdownFunction(doneFunction, progressFunction) and waits until
  doneFunction() is called; progressFunction(fraction, caption) shows how far it is.
  The background poller and a running "Apply background results" (menu item) are told to stop
  and are given up to WAIT_SECONDS to finish the page they are writing (a catalog write is
  never cut in half), then Lightroom may quit. A cull (Auto-cull selection) is not waited for:
  it shows a progress bar the photographer can cancel, and it is one job the daemon keeps.
]]

local LrTasks = import "LrTasks"

local ApplyChangesTask = require "ApplyChangesTask"
local BackgroundPoller = require "BackgroundPoller"

local WAIT_SECONDS = 10
local STEP = 0.2

return {
  LrShutdownFunction = function(doneFunction, progressFunction)
    BackgroundPoller.stop()
    ApplyChangesTask.stop()
    LrTasks.startAsyncTask(function()
      local waited = 0
      while (BackgroundPoller.is_running() or ApplyChangesTask.is_busy()) and waited < WAIT_SECONDS do
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
