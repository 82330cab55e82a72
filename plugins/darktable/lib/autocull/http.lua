--[[
  autocull/http.lua - JSON over HTTP/1.1 to the AutoCull daemon, through curl.

  darktable's Lua has no sockets, so every call runs curl. Nothing secret or
  user-supplied goes on curl's command line: the URL, the token header, the
  body file and the answer file are written to a curl config file (`curl -K`)
  inside a private temporary folder (created mode 0700 with files 0600 on
  Linux/macOS; inside the user's own %TEMP% on Windows). The command line is
  only `curl -K <config file>`, built by system.command_line (cmd.exe's quote rules
  on Windows). The folder is removed when the session closes.

  Dependencies are injected so the specs run without darktable or a daemon:
    sys = {
      os = "linux" | "macos" | "windows",
      popen_read = function(cmd) -> output string|nil   -- run, capture stdout
      read_file, write_file, remove = functions on paths,
      remove_dir = function(path) -> true|nil, err   -- an empty folder (Windows: rmdir)
      make_private_dir = function() -> path|nil, err,
      getenv = os.getenv,
    }
]]

local system = require "lib/autocull/system"

local M = {}

local STATUS_MARK = "AUTOCULL_HTTP "

--- Quote a string for a curl config file ("..." with \\ and \" escaped).
function M.curl_quote(s)
  s = tostring(s)
  if s:find("[%z\r\n]") then
    error("refusing to put a control character into a curl config value", 2)
  end
  return '"' .. s:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

--- Quote one argument for the shell that io.popen uses (system.quote; raises on what cannot be quoted).
function M.shell_quote(s, os_name)
  local q, err = system.quote(s, os_name)
  if not q then error(err, 2) end
  return q
end

--- The text of the curl config file for one request.
function M.curl_config(opts)
  local host = opts.host
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  local lines = {
    "silent",
    "show-error",
    "request = \"POST\"",
    "url = " .. M.curl_quote(string.format("http://%s:%d/autocull.v1.AutoCull/%s", host, opts.port, opts.method)),
    "header = " .. M.curl_quote("Content-Type: application/json"),
    "header = " .. M.curl_quote("X-AutoCull-Token: " .. opts.token),
    -- No `Expect: 100-continue` round trip: the body goes with the headers (one request, no second wait).
    "header = " .. M.curl_quote("Expect:"),
    "data-binary = " .. M.curl_quote("@" .. opts.body_path),
    "output = " .. M.curl_quote(opts.out_path),
    "connect-timeout = " .. tostring(opts.connect_timeout or 5),
    "max-time = " .. tostring(opts.timeout or 60),
    "write-out = " .. M.curl_quote(STATUS_MARK .. "%{http_code} %{exitcode}\\n"),
    "noproxy = \"*\"",
  }
  return table.concat(lines, "\n") .. "\n"
end

-- curl exit codes a photographer can act on.
local CURL_ERRORS = {
  [6] = "cannot resolve the daemon's host",
  [7] = "the AutoCull daemon is not running (connection refused): start it with `autocull serve`",
  [26] = "could not read the request file",
  [23] = "could not write the answer file",
  [28] = "the AutoCull daemon did not answer in time",
  [52] = "the AutoCull daemon closed the connection without an answer",
  [56] = "the connection to the AutoCull daemon broke",
}

--- Parse curl's write-out line: returns http status (number) and curl exit code (number|nil).
function M.parse_status(output)
  if not output then return nil, nil end
  local code, rc = output:match(STATUS_MARK .. "(%d%d%d) ?(%d*)")
  return tonumber(code), tonumber(rc)
end

local Session = {}
Session.__index = Session

--- A session: one private folder for the requests of one piece of work.
-- @param conn {host, port, token}
-- @param sys injected system functions (see above)
-- @param json {encode, decode}
function M.session(conn, sys, json, opts)
  opts = opts or {}
  local self = setmetatable({ conn = conn, sys = sys, json = json, curl = opts.curl or "curl",
                              timeout = opts.timeout, dir = nil, n = 0 }, Session)
  return self
end

function Session:_files()
  if not self.dir then
    local dir, err = self.sys.make_private_dir()
    if not dir then return nil, "cannot create a private temporary folder: " .. tostring(err) end
    self.dir = dir
  end
  local sep = system.separator(self.sys.os)
  return {
    cfg = self.dir .. sep .. "request.cfg",
    body = self.dir .. sep .. "body.json",
    out = self.dir .. sep .. "answer.json",
  }
end

--- Call one method. Returns the decoded answer table, or nil and an error table
-- {code = "unavailable"|"unauthenticated"|..., message = "...", http = status}.
function Session:call(method, request)
  local files, ferr = self:_files()
  if not files then return nil, { code = "internal", message = ferr } end
  local body = self.json.encode(request or {})
  local ok, werr = self.sys.write_file(files.body, body)
  if not ok then return nil, { code = "internal", message = "cannot write the request: " .. tostring(werr) } end
  self.sys.write_file(files.out, "")
  local cfg = M.curl_config({
    host = self.conn.host, port = self.conn.port, token = self.conn.token, method = method,
    body_path = files.body, out_path = files.out, timeout = self.timeout,
  })
  ok, werr = self.sys.write_file(files.cfg, cfg)
  if not ok then return nil, { code = "internal", message = "cannot write the request: " .. tostring(werr) } end
  local cmd, qerr = system.command_line({ self.curl, "-K", files.cfg }, self.sys.os)
  if not cmd then
    self.sys.write_file(files.cfg, "")
    return nil, { code = "internal", message = "cannot run curl: " .. tostring(qerr) }
  end
  local output = self.sys.popen_read(cmd)
  -- The config holds the token: it goes away as soon as curl has read it.
  self.sys.write_file(files.cfg, "")
  local status, rc = M.parse_status(output)
  if not status then
    return nil, { code = "unavailable",
                  message = "could not run curl (" .. tostring(self.curl) .. "): install curl or set its path in the preferences" }
  end
  if status == 0 then
    return nil, { code = "unavailable",
                  message = CURL_ERRORS[rc or -1] or ("cannot reach the AutoCull daemon (curl error " .. tostring(rc) .. ")") }
  end
  local text = self.sys.read_file(files.out) or ""
  local decoded = nil
  if text ~= "" then
    local dok, value = pcall(self.json.decode, text)
    if dok then decoded = value end
  end
  if status ~= 200 then
    local code = type(decoded) == "table" and decoded.code or "http_" .. status
    local message = type(decoded) == "table" and decoded.message or ("HTTP " .. status)
    return nil, { code = code, message = message, http = status }
  end
  if type(decoded) ~= "table" then
    return nil, { code = "internal", message = "the daemon's answer to " .. method .. " is not JSON" }
  end
  return decoded
end

--- Remove the private folder and everything in it.
function Session:close()
  if not self.dir then return end
  local sep = system.separator(self.sys.os)
  for _, name in ipairs({ "request.cfg", "body.json", "answer.json" }) do
    self.sys.remove(self.dir .. sep .. name)
  end
  -- os.remove does not remove folders on Windows: the system module does (rmdir there)
  self.sys.remove_dir(self.dir)
  self.dir = nil
end

M.Session = Session
return M
