--[[
  DaemonStart.lua - "Start AutoCull": runs `<AutoCull command> service start` (LrTasks.execute).

  The command is the preference autocullCommand (default "autocull"); Lightroom started from
  the Dock or Start menu may not have the folder of `autocull` on its PATH, so the full path of
  the program can be set instead (e.g. ~/AutoCull/.venv/bin/autocull or
  C:\AutoCull\.venv\Scripts\autocull.exe). A leading ~ is the home folder: the program is quoted
  for the shell, and sh never expands a quoted ~ (it would run a file literally named "~/...",
  exit 127), so the plug-in expands it itself (LrPathUtils.getStandardFilePath("home")).
  LrTasks.execute hands the line to the system shell: /bin/sh on macOS (the program is
  single-quoted), cmd.exe /c on Windows, which strips the first and the last quote of the line
  when it starts with one; so on Windows the whole line gets one more pair of quotes around it:
    ""C:\Program Files\AutoCull\autocull.exe" service start"
  Only inside an async task (LrTasks.execute's rule).
]]

local LrPathUtils = import "LrPathUtils"
local LrTasks = import "LrTasks"

local M = {}

M.DEFAULT = "autocull"

-- The program from the preferences, trimmed; the default when empty.
function M.program(prefs)
  local p = prefs and prefs.autocullCommand
  if type(p) ~= "string" then return M.DEFAULT end
  p = p:match("^%s*(.-)%s*$")
  if p == "" then return M.DEFAULT end
  return p
end

-- `~`, `~/rest` (and `~\rest` on Windows) with the home folder in front; anything else
-- (`~bob/...`, a ~ inside the path) as typed, and as typed when the home folder is unknown.
function M.expand_home(program, home, windows)
  if type(home) ~= "string" or home == "" then return program end
  if program == "~" then return home end
  local rest = program:match("^~/(.*)$")
  if rest == nil and windows then rest = program:match("^~\\(.*)$") end
  if rest == nil then return program end
  local sep = windows and "\\" or "/"
  if windows then rest = rest:gsub("/", "\\") end
  return (home:gsub("[/\\]+$", "")) .. sep .. rest
end

-- The command line for the host shell. `windows` = true for cmd.exe.
function M.command_line(program, args, windows)
  if windows then
    -- no quote can be part of a Windows file name: wrap the program, then the whole line
    return '""' .. program:gsub('"', "") .. '" ' .. args .. '"'
  end
  return "'" .. program:gsub("'", "'\\''") .. "' " .. args
end

-- Run `<program> service start`. @return ok, command_line, exit code
function M.start(prefs)
  local windows = WIN_ENV == true
  local program = M.expand_home(M.program(prefs), LrPathUtils.getStandardFilePath("home"), windows)
  local line = M.command_line(program, "service start", windows)
  local code = LrTasks.execute(line)
  return code == 0, line, code
end

return M
