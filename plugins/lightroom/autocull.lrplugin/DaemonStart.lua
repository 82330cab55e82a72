--[[
  DaemonStart.lua - "Start AutoCull": runs `<AutoCull command> service start` (LrTasks.execute).

  The command is the preference autocullCommand (default "autocull"); Lightroom started from
  the Dock or Start menu may not have the folder of `autocull` on its PATH, so the full path of
  the program can be set instead (e.g. ~/AutoCull/.venv/bin/autocull or
  C:\AutoCull\.venv\Scripts\autocull.exe).
  LrTasks.execute hands the line to the system shell: /bin/sh on macOS (the program is
  single-quoted), cmd.exe /c on Windows, which strips the first and the last quote of the line
  when it starts with one; so on Windows the whole line gets one more pair of quotes around it:
    ""C:\Program Files\AutoCull\autocull.exe" service start"
  Only inside an async task (LrTasks.execute's rule).
]]

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
  local line = M.command_line(M.program(prefs), "service start", WIN_ENV == true)
  local code = LrTasks.execute(line)
  return code == 0, line, code
end

return M
