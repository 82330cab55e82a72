--[[
  lib/autocull/daemon_help.lua - when the daemon is not running: say how to start it,
  and start it on request ("start daemon" button).

  `autocull serve` runs the daemon until it is stopped; `autocull service install`
  (once) makes the system start it at every login (launchd agent, scheduled task,
  systemd user unit); `autocull service start` starts that service now. The
  program's name or full path is a preference ("autocull" unless set). A leading ~ there is
  the home folder ($HOME; %USERPROFILE% on Windows): the program is quoted for the shell, and
  neither sh (inside quotes) nor cmd ever expands ~, so it is expanded here.
]]

local system = require "lib/autocull/system"

local M = {}

M.HINT = "or run `autocull service install` once so it starts at every login; " ..
  "the AutoCull module's \"start daemon\" button starts it now"

--- The message with how to start the daemon, when it says the daemon is not running.
function M.explain(message)
  message = tostring(message)
  if message:find("not running", 1, true) and not message:find("service install", 1, true) then
    return message .. ", " .. M.HINT
  end
  return message
end

--- The command line that runs `<program> service start` on `os_name`, quoted by the
-- system module's rules (cmd /c on Windows strips a pair of quotes: system.command_line
-- gives it one). Returns the line, or nil and a message for a program Windows cannot run.
function M.command(os_name, program)
  program = (program and program ~= "") and program or "autocull"
  return system.command_line({ program, "service", "start" }, os_name)
end

-- The line's last output line says how the program exited. Its words cannot: a localised
-- Windows says "nicht gefunden", and a started service may print "not found" harmlessly.
-- POSIX sh gives the code ($?). On Windows %errorlevel% is no use here: cmd expands it when
-- it reads the line, before the program runs; && and || look at the real exit code.
local MARK = "AUTOCULL_EXIT="

function M.exit_check(os_name)
  if os_name == "windows" then
    return " && echo " .. MARK .. "0 || echo " .. MARK .. "1"
  end
  return "; echo " .. MARK .. "$?"
end

--- `~`, `~/rest` (and `~\rest` on Windows) with the home folder in front; anything else
-- (`~bob/...`, a ~ inside the path) as typed, and as typed when the home folder is unknown.
-- @param sys the system module's object (os, getenv)
function M.expand_home(program, sys)
  if type(program) ~= "string" then return program end
  local windows = sys.os == "windows"
  local home = sys.getenv and sys.getenv(windows and "USERPROFILE" or "HOME")
  if type(home) ~= "string" or home == "" then return program end
  if program == "~" then return home end
  local rest = program:match("^~/(.*)$")
  if rest == nil and windows then rest = program:match("^~\\(.*)$") end
  if rest == nil then return program end
  if windows then rest = rest:gsub("/", "\\") end
  return (home:gsub("[/\\]+$", "")) .. system.separator(sys.os) .. rest
end

--- Run `<program> service start` (through the system module's popen) and say what happened.
-- @return ok, message
function M.start(sys, program)
  local line, why = M.command(sys.os, M.expand_home(program, sys))
  if not line then return false, why end
  local cmd = line .. " 2>&1" .. M.exit_check(sys.os)
  local ok, out = pcall(sys.popen_read, cmd)
  if not ok or out == nil then
    return false, "could not run " .. line .. ": " .. tostring(out)
  end
  out = tostring(out)
  local code = tonumber(out:match(MARK .. "(%-?%d+)%s*$"))
  out = out:gsub("%s*" .. MARK .. "%-?%d+%s*$", ""):gsub("%s+$", "")
  if code == nil then
    return false, "could not run " .. line .. (out ~= "" and (": " .. out) or "")
  end
  if code ~= 0 then
    return false, "`" .. line .. "` failed (exit " .. code .. ")" .. (out ~= "" and (": " .. out) or "") ..
      "; if the autocull program was not found, set its full path in " ..
      "preferences > lua options > AutoCull: autocull program"
  end
  return true, out ~= "" and out or "asked the AutoCull service to start"
end

return M
