--[[
  lrsdk.lua - a stand-in for the Lightroom Classic SDK, for running the plug-in's own Lua
  files under plain Lua 5.1 (busted, or the e2e driver). NOT Lightroom: it follows the
  documented behaviour of the SDK reference and refuses what the reference says Lightroom
  refuses, and records every call so tests can assert on them.

  Documented behaviour it follows (and enforces):
  - catalog writes (photo:setRawMetadata, addKeyword, removeKeyword, catalog:createKeyword)
    raise outside catalog:withWriteAccessDo; plug-in fields (photo:setPropertyForPlugin)
    raise outside withWriteAccessDo / withPrivateWriteAccessDo; write blocks do not nest;
    yielding (LrTasks.sleep/yield, LrHttp) inside a write block raises.
  - withWriteAccessDo(name, fn, {timeout, callback}) returns "executed", or "aborted" (and
    calls callback) when the catalog is busy (catalog.busy = true); without timeoutParams a
    busy catalog raises. Each executed block is one undo step (catalog.undo_steps).
  - setRawMetadata keys: rating (nil or 0..5), pickStatus (1/0/-1), colorNameForLabel
    ('red'|'yellow'|'green'|'blue'|'purple'|'none'); other keys raise here.
  - batchGetRawMetadata only accepts documented keys; plug-in fields must be declared in the
    plug-in's metadata provider; values must be string, number, boolean or nil.
  - createKeyword(name, synonyms, includeOnExport, parent, returnExisting) returns the
    existing keyword when returnExisting, false otherwise.
  - LrHttp.post(url, body, headers, method, timeout) only inside an async task; returns
    (body, headers) with headers.status and the response headers as {field, value}; on a
    network failure nil and headers.error = {errorCode, name, nativeCode}. Content-Type
    defaults to text/plain. The transport is real HTTP through a `curl` subprocess
    (sdk.http.transport = sdk.curl_transport) or a function the test gives.
  - LrTasks.startAsyncTask runs the function as a coroutine; sdk.run_tasks() drives them.
    LrTasks.sleep yields (and really sleeps when sdk.real_time is true). Plain pcall
    around a yielding call fails as in Lua 5.1; LrTasks.pcall works.
  - LrProgressScope records captions/progress; scope:cancel() (or sdk.progress.on_update)
    makes isCanceled() true.
  - LrDialogs.message/confirm/presentModalDialog are recorded (sdk.dialogs.log); confirm
    and modal answers come from sdk.dialogs.answers (default "ok"); sdk.dialogs.on_modal(args)
    may change the bound property table before the dialog "closes".
  What it cannot show: Lightroom's real UI, layout, threading timing, real catalog database,
  undo menu, localisation files, or anything the reference does not document.

  At least as strict as the documented SDK (Lightroom Classic SDK reference, LrCatalog, LrPhoto,
  LrKeyword, LrTasks; the Programmer's Guide on plug-in metadata), for what the plug-in relies on:
  - LrCatalog:withWriteAccessDo / withPrivateWriteAccessDo(…, timeoutParams): "the returned string
    will be either "executed", "queued", or "aborted". If the 'asynchronous' parameter is true, …
    returns immediately with either "executed" or "queued", otherwise it returns within 'timeout'
    seconds with either "executed" or "aborted" … When "aborted" is returned, 'func' will have been
    ignored and 'callback' will have executed." Here: a busy catalog (catalog.busy, or
    catalog.access_hook(kind, name) answering "busy") aborts after the timeout has passed on the
    stand-in's clock (catalog.waited grows by it); {asynchronous = true} answers "queued" and runs
    func (or, busy, the callback) on the next scheduler round. Only withWriteAccessDo makes an
    undo step ("actionName … used in Lightroom's Undo/Redo menu"); catalog:_undo() plays
    Edit > Undo: it takes back the last step's pick/rating/label/keyword changes and, unless
    catalog.undo_keeps_plugin_fields, the plug-in fields set inside that step. Private writes
    are never undone (they are no undo step).
  - Catalog reads ("must be called from within an asynchronous task started using LrTasks"):
    batchGetRawMetadata, batchGetPropertyForPlugin, findPhotoByPath, photo:getRawMetadata,
    photo:getPropertyForPlugin, keyword:getName/getParent/getChildren/getAttributes raise outside
    a task.
  - LrPhoto:setRawMetadata, addKeyword, removeKeyword, LrCatalog:createKeyword and
    LrKeyword:setAttributes raise outside withWriteAccessDo; setPropertyForPlugin outside either
    gate ("Must be called from within one of the catalog:withWriteAccessDo gates (including
    withPrivateWriteAccessDo)").
  - A plug-in field declared searchable = true refuses a string longer than 511 bytes (the SDK
    Programmer's Guide: searchable string values are limited to 511 bytes).
  - createKeyword(keywordName, synonyms, includeOnExport, parent, returnExisting) keeps
    includeOnExport; keyword:getAttributes() returns {keywordName, synonyms, includeOnExport};
    setAttributes changes the fields given (nil = unchanged). An existing keyword returned by
    returnExisting keeps its own attributes.
  - LrTasks.execute(cmd) only inside a task; it runs nothing unless the test sets
    sdk.execute_handler(cmd) -> exit code (or sdk.allow_execute to run it with os.execute).
]]

local sdk = {}
sdk.__index = sdk

local DOCUMENTED_RAW_KEYS = {
  fileSize = true, rating = true, dimensions = true, croppedDimensions = true, shutterSpeed = true,
  aperture = true, exposureBias = true, flash = true, isoSpeedRating = true, focalLength = true,
  focalLength35mm = true, dateTimeOriginal = true, dateTimeDigitized = true, dateTime = true, gps = true,
  gpsAltitude = true, countVirtualCopies = true, virtualCopies = true, masterPhoto = true,
  isVirtualCopy = true, countStackInFolderMembers = true, stackInFolderMembers = true,
  isInStackInFolder = true, stackInFolderIsCollapsed = true, stackPositionInFolder = true,
  topOfStackInFolderContainingPhoto = true, colorNameForLabel = true, fileFormat = true, width = true,
  height = true, aspectRatio = true, isCropped = true, dateTimeOriginalISO8601 = true,
  dateTimeDigitizedISO8601 = true, dateTimeISO8601 = true, lastEditTime = true, editCount = true,
  copyrightState = true, uuid = true, path = true, isVideo = true, durationInSeconds = true,
  keywords = true, customMetadata = true, pickStatus = true, locationIsPrivate = true,
  smartPreviewInfo = true, gpsImgDirection = true, bitDepth = true, isExported = true,
}
sdk.AGREED_FIELDS = { "burstId", "burstRank", "burstBest" }
local LABELS = { red = true, yellow = true, green = true, blue = true, purple = true, none = true }

-- LOC "$$$/Key=English text with ^1" ------------------------------------------------------
local function LOC(s, ...)
  assert(type(s) == "string" and s:sub(1, 4) == "$$$/", "LOC needs a \"$$$/Key=English\" string, got " .. tostring(s))
  local text = s:match("^[^=]*=(.*)$")
  assert(text, "LOC string without '=English': " .. s)
  local args = { ... }
  for i = 1, select("#", ...) do
    assert(type(args[i]) == "string", "LOC argument ^" .. i .. " must be a string, got " .. type(args[i]))
  end
  text = text:gsub("%^(%d)", function(n) return args[tonumber(n)] or ("^" .. n) end)
  return text
end
sdk.LOC = LOC

-- Tasks ------------------------------------------------------------------------------------
local function new_tasks(S)
  local T = { list = {}, errors = {} }
  local current = {} -- coroutine -> task

  local function in_task()
    local co = coroutine.running()
    return co ~= nil and S._task_of(co) ~= nil
  end
  S._in_task = in_task

  function T.startAsyncTask(fn, name)
    local co = coroutine.create(fn)
    local task = { co = co, name = name or "task" }
    current[co] = task
    T.list[#T.list + 1] = task
  end
  T.startAsyncTaskWithoutErrorHandler = T.startAsyncTask

  function T.canYield() return in_task() and not S.catalog_in_write() end

  local function check_yield(what)
    if S.catalog_in_write() then
      error(what .. ": yielding is not allowed within a call to LrCatalog:withWriteAccessDo", 3)
    end
    if not in_task() then error(what .. " can only be called from within a task", 3) end
  end
  S._check_yield = check_yield

  function T.yield()
    check_yield("LrTasks.yield")
    coroutine.yield()
  end

  function T.sleep(seconds)
    check_yield("LrTasks.sleep")
    S.slept = (S.slept or 0) + (seconds or 0)
    if S.real_time and seconds and seconds > 0 then os.execute(string.format("sleep %.3f", seconds)) end
    coroutine.yield()
  end

  -- pcall that lets the function yield (like copcall): the function runs in a child coroutine
  -- whose yields are passed up to the task.
  function T.pcall(fn, ...)
    local parent = coroutine.running()
    if parent == nil then return pcall(fn, ...) end
    local child = coroutine.create(fn)
    current[child] = current[parent] or S._task_of(parent)
    local results = { coroutine.resume(child, ...) }
    while coroutine.status(child) ~= "dead" do
      coroutine.yield()
      results = { coroutine.resume(child) }
    end
    current[child] = nil
    return unpack(results)
  end

  T.executed = {}
  function T.execute(cmd)
    if not in_task() then error("LrTasks.execute can only be called from within a task", 2) end
    check_yield("LrTasks.execute")
    T.executed[#T.executed + 1] = cmd
    local code
    if S.execute_handler then
      code = S.execute_handler(cmd)
    elseif S.allow_execute then
      code = os.execute(cmd)
    else
      error("stand-in: LrTasks.execute(" .. cmd .. ") - set sdk.execute_handler or sdk.allow_execute", 2)
    end
    coroutine.yield()
    return code
  end

  S._task_of = function(co)
    return current[co]
  end

  -- Resume every live task until all are done (or max rounds).
  function S.run_tasks_impl(max_rounds)
    max_rounds = max_rounds or 100000
    for _ = 1, max_rounds do
      local alive = S.catalog:_run_queued()
      for _, task in ipairs(T.list) do
        if coroutine.status(task.co) == "suspended" then
          alive = true
          local ok, err = coroutine.resume(task.co)
          if not ok then
            T.errors[#T.errors + 1] = { task = task.name, error = err }
            S.dialogs.log[#S.dialogs.log + 1] = { kind = "task_error", message = tostring(err) }
          end
        end
      end
      if not alive then return true end
    end
    return false
  end
  return T
end

-- Function contexts ------------------------------------------------------------------------
local function new_function_context(S)
  local FC = {}
  local function make()
    local ctx = { cleanup = {}, failure = {} }
    function ctx:addCleanupHandler(fn) self.cleanup[#self.cleanup + 1] = fn end
    function ctx:addFailureHandler(fn) self.failure[#self.failure + 1] = fn end
    function ctx:addOperationTitleForError(title) self.title = title end
    return ctx
  end
  function FC.callWithContext(name, fn, ...)
    local ctx = make()
    local results = { S.tasks.pcall(fn, ctx, ...) }
    if not results[1] then
      for _, h in ipairs(ctx.failure) do h(false, results[2]) end
    end
    for _, h in ipairs(ctx.cleanup) do h(results[1], results[2]) end
    if not results[1] and not ctx.error_dialog then error(results[2], 0) end
    if not results[1] then return end
    return unpack(results, 2)
  end
  function FC.pcallWithContext(name, fn, ...)
    return S.tasks.pcall(FC.callWithContext, name, fn, ...)
  end
  function FC.postAsyncTaskWithContext(name, fn)
    S.tasks.startAsyncTask(function() FC.callWithContext(name, fn) end, name)
  end
  return FC
end

-- Dialogs -----------------------------------------------------------------------------------
local function new_dialogs(S)
  local D = { log = {}, answers = {}, on_modal = nil }
  local function answer()
    if #D.answers > 0 then return table.remove(D.answers, 1) end
    return "ok"
  end
  function D.message(message, info, style)
    D.log[#D.log + 1] = { kind = "message", message = message, info = info, style = style }
  end
  function D.confirm(message, info, actionVerb, cancelVerb, otherVerb)
    local a = answer()
    D.log[#D.log + 1] = { kind = "confirm", message = message, info = info, answer = a }
    return a
  end
  function D.presentModalDialog(args)
    if not S._in_task() then error("presentModalDialog blocks: call it from within a task", 2) end
    S.namespaces.LrView.check(args.contents) -- every dialog's view tree is held to the SDK's widgets
    if D.on_modal then D.on_modal(args) end
    local a = answer()
    D.log[#D.log + 1] = { kind = "modal", title = args.title, args = args, answer = a }
    return a
  end
  function D.attachErrorDialogToFunctionContext(ctx)
    ctx.error_dialog = true
    ctx:addFailureHandler(function(_, err)
      D.log[#D.log + 1] = { kind = "error", message = tostring(err) }
    end)
  end
  function D.showError(err) D.log[#D.log + 1] = { kind = "error", message = tostring(err) } end
  function D.showBezel(message) D.log[#D.log + 1] = { kind = "bezel", message = message } end
  function D.runOpenPanel() return nil end
  function D.of_kind(kind)
    local out = {}
    for _, e in ipairs(D.log) do if e.kind == kind then out[#out + 1] = e end end
    return out
  end
  return D
end

-- Progress scopes ---------------------------------------------------------------------------
local function new_progress(S)
  local P = { scopes = {}, on_update = nil }
  local Scope = {}
  Scope.__index = Scope
  function Scope:setPortionComplete(done, total)
    self.portion = { done, total or 1 }
    self.updates[#self.updates + 1] = { done = done, total = total }
    if P.on_update then P.on_update(self) end
  end
  function Scope:setCaption(caption)
    self.caption = caption
    self.captions[#self.captions + 1] = caption
    if P.on_update then P.on_update(self) end
  end
  function Scope:setCancelable(c) self.cancelable = c end
  function Scope:isCancelable() return self.cancelable end
  function Scope:cancel() self.canceled = true end
  function Scope:isCanceled() return self.canceled == true end
  function Scope:done() self.is_done = true end
  function Scope:isDone() return self.is_done == true end
  function Scope:setIndeterminate() self.indeterminate = true end
  function Scope:attachToFunctionContext(ctx) ctx:addCleanupHandler(function() self:done() end) end
  local function new(params)
    local s = setmetatable({ params = params or {}, title = params and params.title, updates = {}, captions = {} },
                           Scope)
    if params and params.functionContext then s:attachToFunctionContext(params.functionContext) end
    P.scopes[#P.scopes + 1] = s
    return s
  end
  P.new = new
  return P
end

-- HTTP ----------------------------------------------------------------------------------------
local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_all(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local CURL_ERRORS = {
  [6] = "cannotFindHost", [7] = "cannotConnectToHost", [28] = "timedOut", [52] = "badServerResponse",
  [55] = "networkConnectionLost", [56] = "networkConnectionLost", [3] = "badURL",
}

-- Real HTTP through curl. req = {url, method, body, headers = {{field, value}}, timeout}
-- @return {status, body, headers} or nil, {errorCode, name, nativeCode}
function sdk.curl_transport(req)
  local body_f, hdr_f, out_f, rh_f = os.tmpname(), os.tmpname(), os.tmpname(), os.tmpname()
  write_all(body_f, req.body or "")
  local lines = { "Expect:" }
  for _, h in ipairs(req.headers) do lines[#lines + 1] = h.field .. ": " .. h.value end
  write_all(hdr_f, table.concat(lines, "\n") .. "\n")
  local cmd = string.format("curl -sS -X %s --max-time %d -H @%s --data-binary @%s -o %s -D %s -w '%%{http_code}' %s 2>/dev/null; echo \" $?\"",
                            sh_quote(req.method), math.max(1, math.floor(req.timeout or 30)), sh_quote(hdr_f),
                            sh_quote(body_f), sh_quote(out_f), sh_quote(rh_f), sh_quote(req.url))
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  local body, rh = read_all(out_f), read_all(rh_f)
  for _, f in ipairs { body_f, hdr_f, out_f, rh_f } do os.remove(f) end
  local rc = tonumber(out:match("(%d+)%s*$"))
  if rc ~= 0 then
    local code = CURL_ERRORS[rc] or "badServerResponse"
    return nil, { errorCode = code, name = "curl exit " .. tostring(rc) .. " (" .. code .. ")", nativeCode = rc }
  end
  local headers, status = {}, nil
  for line in (rh or ""):gmatch("[^\r\n]+") do
    local s = line:match("^HTTP/%S+%s+(%d+)")
    if s then
      status, headers = tonumber(s), {}
    else
      local k, v = line:match("^([^:]+):%s*(.*)$")
      if k then headers[#headers + 1] = { field = k, value = v } end
    end
  end
  return { status = status, body = body or "", headers = headers }
end

local function new_http(S)
  local H = { log = {}, transport = nil }
  function H.post(url, body, headers, method, timeout)
    if not S._in_task() then error("LrHttp.post can only be called from within an asynchronous task", 2) end
    S._check_yield("LrHttp.post")
    assert(type(url) == "string", "LrHttp.post: url must be a string")
    local hs, has_ct = {}, false
    for _, h in ipairs(headers or {}) do
      assert(type(h) == "table" and h.field and h.value, "LrHttp headers are {field=, value=} tables")
      if string.lower(h.field) == "content-type" then has_ct = true end
      if not (string.lower(h.field) == "content-type" and h.value == "skip") then hs[#hs + 1] = h end
    end
    if not has_ct then hs[#hs + 1] = { field = "Content-Type", value = "text/plain" } end
    local req = { url = url, body = body, headers = hs, method = method or "POST", timeout = timeout }
    local entry = { request = req }
    H.log[#H.log + 1] = entry
    local answer, err = (H.transport or sdk.curl_transport)(req)
    coroutine.yield() -- the network takes time: other tasks run meanwhile
    if not answer then
      entry.error = err
      return nil, { error = err }
    end
    entry.status, entry.response = answer.status, answer.body
    local rh = { status = answer.status }
    for i, h in ipairs(answer.headers or {}) do rh[i] = h end
    return answer.body, rh
  end
  function H.get(url, headers, timeout) return H.post(url, nil, headers, "GET", timeout) end
  function H.calls(method)
    local out = {}
    for _, e in ipairs(H.log) do
      if e.request.url:match("/" .. method .. "$") then out[#out + 1] = e end
    end
    return out
  end
  return H
end

-- Catalog -----------------------------------------------------------------------------------
local function new_catalog(S)
  local C = { photos = {}, by_path = {}, by_path_folded = {}, folders = {}, selected = {}, keywords = {}, undo_steps = {}, busy = false, writes = {},
              waited = 0, aborted = 0, queue = {}, undo_keeps_plugin_fields = false }
  local mode = nil -- nil | "full" | "private"
  local step = nil -- the undo step being recorded: list of inverse operations

  function S.catalog_in_write() return mode ~= nil end

  local function need(kind, what)
    if mode == nil or (kind == "full" and mode ~= "full") then
      error(what .. ": this call requires write access; wrap it in catalog:withWriteAccessDo", 3)
    end
  end

  local function need_task(what)
    if not S._in_task() then
      error(what .. " must be called from within an asynchronous task started using LrTasks", 3)
    end
  end

  -- remember how to take a change back (Edit > Undo), inside withWriteAccessDo only
  local function undoable(kind, fn)
    if step and mode == "full" then step[#step + 1] = { kind = kind, undo = fn } end
  end

  local Keyword = {}
  Keyword.__index = Keyword
  -- "not available for access until that function returns" (documented for collections made in
  -- a write gate; assumed for keywords too): a keyword created in the still-open gate may be
  -- passed on (as a parent, to addKeyword) but not read or changed.
  local fresh = {}
  C._fresh_keywords = fresh
  local function available(kw, what)
    if fresh[kw] then
      error(what .. ": a keyword is not available for access until the withWriteAccessDo that created it returns", 3)
    end
  end
  function Keyword:getName() need_task("LrKeyword:getName") available(self, "LrKeyword:getName") return self.name end
  function Keyword:getParent() need_task("LrKeyword:getParent") available(self, "LrKeyword:getParent") return self.parent end
  function Keyword:getChildren()
    need_task("LrKeyword:getChildren")
    available(self, "LrKeyword:getChildren")
    return self.children
  end
  function Keyword:getAttributes()
    need_task("LrKeyword:getAttributes")
    available(self, "LrKeyword:getAttributes")
    return { keywordName = self.name, synonyms = self.synonyms or {}, includeOnExport = self.includeOnExport }
  end
  function Keyword:setAttributes(info)
    need("full", "LrKeyword:setAttributes")
    available(self, "LrKeyword:setAttributes")
    assert(type(info) == "table", "setAttributes needs a table")
    if info.keywordName ~= nil then self.name = info.keywordName end
    if info.synonyms ~= nil then self.synonyms = info.synonyms end
    if info.includeOnExport ~= nil then self.includeOnExport = info.includeOnExport end
    C.writes[#C.writes + 1] = { keyword = self, key = "setAttributes", value = info }
    return true
  end
  function Keyword:type() return "LrKeyword" end

  local function find_keyword(name, parent)
    local list = parent and parent.children or C.keywords
    for _, k in ipairs(list) do if k.name == name then return k end end
    return nil
  end

  function C:createKeyword(name, synonyms, includeOnExport, parent, returnExisting)
    need("full", "LrCatalog:createKeyword")
    assert(type(name) == "string" and name ~= "", "createKeyword: name must be a non-empty string")
    assert(type(includeOnExport) == "boolean", "createKeyword: includeOnExport must be a boolean")
    local existing = find_keyword(name, parent)
    if existing then
      if returnExisting then return existing end
      return false
    end
    local kw = setmetatable({ name = name, parent = parent, children = {}, synonyms = synonyms,
                              includeOnExport = includeOnExport }, Keyword)
    fresh[kw] = true
    local list = parent and parent.children or C.keywords
    list[#list + 1] = kw
    return kw
  end

  -- test helper: a keyword by full path, created if needed (outside write access); keywords a
  -- photographer makes in Lightroom export by default
  function C:_keyword(path, includeOnExport)
    local parent
    for part in path:gmatch("[^|]+") do
      local kw = find_keyword(part, parent)
      if not kw then
        kw = setmetatable({ name = part, parent = parent, children = {},
                            includeOnExport = includeOnExport ~= false }, Keyword)
        local list = parent and parent.children or C.keywords
        list[#list + 1] = kw
      end
      parent = kw
    end
    return parent
  end

  local Photo = {}
  Photo.__index = Photo
  function Photo:type() return "LrPhoto" end
  local function raw_read(self, key)
    if key == "keywords" then
      local out = {}
      for _, k in ipairs(self.keywords) do out[#out + 1] = k end
      return out
    end
    if not DOCUMENTED_RAW_KEYS[key] then error("getRawMetadata: unknown key " .. tostring(key), 3) end
    return self.raw[key]
  end
  function Photo:getRawMetadata(key)
    need_task("LrPhoto:getRawMetadata")
    return raw_read(self, key)
  end
  function Photo:setRawMetadata(key, value)
    need("full", "LrPhoto:setRawMetadata")
    if key == "rating" then
      assert(value == nil or (type(value) == "number" and value >= 0 and value <= 5 and value == math.floor(value)),
             "rating must be nil or 0..5")
    elseif key == "pickStatus" then
      assert(value == 1 or value == 0 or value == -1, "pickStatus must be 1, 0 or -1")
    elseif key == "colorNameForLabel" then
      assert(type(value) == "string" and LABELS[string.lower(value)], "colorNameForLabel: unknown colour " .. tostring(value))
    else
      error("setRawMetadata: key not used by AutoCull in this stand-in: " .. tostring(key), 2)
    end
    local old = self.raw[key]
    undoable("raw", function() self.raw[key] = old end)
    self.raw[key] = value
    C.writes[#C.writes + 1] = { photo = self, key = key, value = value }
  end
  function Photo:addKeyword(kw)
    need("full", "LrPhoto:addKeyword")
    assert(getmetatable(kw) == Keyword, "addKeyword needs an LrKeyword")
    for _, k in ipairs(self.keywords) do if k == kw then return end end
    self.keywords[#self.keywords + 1] = kw
    undoable("keyword", function()
      for i, k in ipairs(self.keywords) do if k == kw then table.remove(self.keywords, i) break end end
    end)
    C.writes[#C.writes + 1] = { photo = self, key = "addKeyword", value = kw }
  end
  function Photo:removeKeyword(kw)
    need("full", "LrPhoto:removeKeyword")
    for i, k in ipairs(self.keywords) do
      if k == kw then
        table.remove(self.keywords, i)
        undoable("keyword", function() table.insert(self.keywords, i, kw) end)
        break
      end
    end
    C.writes[#C.writes + 1] = { photo = self, key = "removeKeyword", value = kw }
  end
  function Photo:checkPhotoAvailability() return not self.missing end
  local function check_field(plugin, field)
    local id = type(plugin) == "table" and plugin.id or plugin
    assert(id == S.plugin.id, "plugin fields: unknown plug-in " .. tostring(id))
    if not S.fields[field] then error("plug-in field not declared in the metadata provider: " .. tostring(field), 3) end
  end
  function Photo:getPropertyForPlugin(plugin, field)
    need_task("LrPhoto:getPropertyForPlugin")
    check_field(plugin, field)
    return self.props[field]
  end
  function Photo:setPropertyForPlugin(plugin, field, value)
    need("private", "LrPhoto:setPropertyForPlugin")
    check_field(plugin, field)
    local t = type(value)
    assert(t == "nil" or t == "string" or t == "number" or t == "boolean", "plug-in field values cannot be " .. t)
    if t == "string" and S.fields[field].searchable and #value > 511 then
      error("setPropertyForPlugin: the searchable field '" .. field .. "' takes at most 511 bytes, got " .. #value, 2)
    end
    local old = self.props[field]
    if not C.undo_keeps_plugin_fields then
      undoable("prop", function() self.props[field] = old end)
    end
    self.props[field] = value
    C.props_written = (C.props_written or 0) + 1
  end
  -- test helpers
  function Photo:keyword_paths()
    local out = {}
    for _, k in ipairs(self.keywords) do
      local parts, x = {}, k
      while x do table.insert(parts, 1, x.name) x = x.parent end
      out[#out + 1] = table.concat(parts, "|")
    end
    table.sort(out)
    return out
  end

  function C:_add_photo(t)
    local p = setmetatable({ raw = {}, props = {}, keywords = {}, missing = t.missing or false }, Photo)
    p.raw.path = t.path
    p.raw.isVirtualCopy = t.virtual or false
    p.raw.rating = t.rating
    p.raw.pickStatus = t.pickStatus or 0
    p.raw.colorNameForLabel = t.label or "none"
    p.raw.uuid = tostring(#C.photos + 1)
    for _, path in ipairs(t.keywords or {}) do p.keywords[#p.keywords + 1] = C:_keyword(path) end
    for k, v in pairs(t.props or {}) do p.props[k] = v end
    C.photos[#C.photos + 1] = p
    local key, folded = C:_path_key(t.path), C:_path_key(t.path, true)
    if not p.raw.isVirtualCopy and C.by_path[key] == nil then C.by_path[key] = p end
    if not p.raw.isVirtualCopy and C.by_path_folded[folded] == nil then C.by_path_folded[folded] = p end
    local folder = t.path:match("^(.*)[/\\][^/\\]*$")
    if folder then C.folders[C:_path_key(folder)] = folder end
    return p
  end

  -- test helper: a keyword object by full path, or nil
  function C:_find_keyword(path)
    local parent
    for part in path:gmatch("[^|]+") do
      parent = find_keyword(part, parent)
      if not parent then return nil end
    end
    return parent
  end

  -- test helper: Edit > Undo of the last withWriteAccessDo step. Returns its name.
  function C:_undo()
    local last = table.remove(C.undo_steps)
    if not last then return nil end
    for i = #last.ops, 1, -1 do last.ops[i].undo() end
    return last.name
  end

  function C:getPath() return S.catalog_path or "/Users/me/Pictures/Lightroom/Lightroom Catalog.lrcat" end  -- SDK 3.0
  function C:getTargetPhoto() return C.selected[1] end
  function C:getTargetPhotos()
    if #C.selected > 0 then
      local out = {}
      for i, p in ipairs(C.selected) do out[i] = p end
      return out
    end
    local out = {}
    for i, p in ipairs(C.photos) do out[i] = p end
    return out
  end
  function C:getMultipleSelectedOrAllPhotos() return C:getTargetPhotos() end
  function C:getAllPhotos() return C:getTargetPhotos() end
  -- SDK 8.0: findPhotoByPath(path, caseSensitive) - "caseSensitive (Boolean, optional)". The
  -- reference says nothing of the lookup without it ignoring case, so here only an explicit
  -- caseSensitive == false does (the file systems of Windows and macOS ignore case; a daemon
  -- path typed as c:\users\ann is found then, never by default).
  function C:findPhotoByPath(path, caseSensitive)
    need_task("LrCatalog:findPhotoByPath")
    assert(type(path) == "string", "findPhotoByPath needs a path")
    assert(caseSensitive == nil or type(caseSensitive) == "boolean", "findPhotoByPath: caseSensitive is a boolean")
    C.lookups = (C.lookups or 0) + 1
    if caseSensitive == false then return C.by_path_folded[C:_path_key(path, true)] end
    return C.by_path[C:_path_key(path)]
  end
  -- catalog.windows = true: paths as Lightroom on Windows takes them (either separator; case only
  -- when folded, i.e. for a caller that asked for a case-insensitive lookup). Set it before
  -- adding photos (sdk:platform does both).
  function C:_path_key(path, folded)
    if C.windows then path = path:gsub("/", "\\") end
    if folded then path = path:lower() end
    return path
  end
  -- SDK 3.0: "Retrieves an LrFolder object representing a folder in the catalog" (nil when the
  -- folder is not in it); a catalog read, so only from within a task. Folders exist here as the
  -- parent folders of the stand-in's photos. The reference documents no case rule for it, so
  -- it matches case exactly (no looser than the SDK).
  local Folder = {}
  Folder.__index = Folder
  function Folder:type() return "LrFolder" end
  function Folder:getPath() return self.path end
  local function folder_parent(path) return path:match("^(.*)[/\\][^/\\]*$") end
  -- SDK 3.0 LrFolder:getChildren(): "immediate subfolders of this folder"
  function Folder:getChildren()
    need_task("LrFolder:getChildren")
    C.folder_reads = (C.folder_reads or 0) + 1
    local out, mine = {}, C:_path_key(self.path)
    for key, path in pairs(C.folders) do
      local parent = folder_parent(path)
      if parent and C:_path_key(parent) == mine and key ~= mine then out[#out + 1] = setmetatable({ path = path }, Folder) end
    end
    table.sort(out, function(a, b) return a.path < b.path end)
    return out
  end
  function C:getFolderByPath(path)
    need_task("LrCatalog:getFolderByPath")
    assert(type(path) == "string", "getFolderByPath needs a path")
    C.folder_lookups = (C.folder_lookups or 0) + 1
    path = path:gsub("[/\\]+$", "")
    local have = C.folders[C:_path_key(path)]
    if have then return setmetatable({ path = have }, Folder) end
    return nil
  end
  -- SDK 3.0 LrCatalog:getFolders(): the top-level folders (here: folders whose parent folder
  -- holds no photo of the stand-in)
  function C:getFolders()
    need_task("LrCatalog:getFolders")
    C.folder_reads = (C.folder_reads or 0) + 1
    local out = {}
    for _, path in pairs(C.folders) do
      local parent = folder_parent(path)
      if not (parent and C.folders[C:_path_key(parent)]) then out[#out + 1] = setmetatable({ path = path }, Folder) end
    end
    table.sort(out, function(a, b) return a.path < b.path end)
    return out
  end
  function C:getKeywords() need_task("LrCatalog:getKeywords") return C.keywords end
  function C:batchGetRawMetadata(photos, keys)
    need_task("LrCatalog:batchGetRawMetadata")
    local out = {}
    for _, key in ipairs(keys) do
      if not DOCUMENTED_RAW_KEYS[key] then error("batchGetRawMetadata: unknown key " .. tostring(key), 2) end
    end
    for _, p in ipairs(photos) do
      local row = {}
      for _, key in ipairs(keys) do row[key] = raw_read(p, key) end
      out[p] = row
    end
    return out
  end
  function C:batchGetPropertyForPlugin(photos, plugin, fields)
    need_task("LrCatalog:batchGetPropertyForPlugin")
    local out = {}
    for _, p in ipairs(photos) do
      local row = {}
      for _, f in ipairs(fields) do row[f] = p:getPropertyForPlugin(plugin, f) end
      out[p] = row
    end
    return out
  end

  local function is_busy(kind, name)
    if C.busy then return true end
    return C.access_hook ~= nil and C.access_hook(kind, name) == "busy"
  end

  local function run_gate(kind, name, fn)
    mode = kind
    local before = #C.writes
    if kind == "full" then step = {} end
    local ok, err = pcall(fn, {})
    mode = nil
    for kw in pairs(C._fresh_keywords) do C._fresh_keywords[kw] = nil end -- readable once the gate returns
    local ops = step
    step = nil
    if not ok then
      for i = #(ops or {}), 1, -1 do ops[i].undo() end -- a failed gate changes nothing
      error(err, 0)
    end
    if kind == "full" then
      C.undo_steps[#C.undo_steps + 1] = { name = name, writes = #C.writes - before, ops = ops }
    end
  end

  local function with_access(kind, name, fn, timeoutParams)
    if mode ~= nil then error("withWriteAccessDo: write access blocks cannot be nested", 3) end
    if timeoutParams ~= nil then
      assert(type(timeoutParams.timeout) == "number", "timeoutParams must contain a numeric 'timeout'")
      if timeoutParams.callback ~= nil then assert(type(timeoutParams.callback) == "function") end
    end
    if timeoutParams and timeoutParams.asynchronous then
      C.queue[#C.queue + 1] = { kind = kind, name = name, fn = fn, params = timeoutParams }
      return "queued"
    end
    if is_busy(kind, name) then
      if timeoutParams == nil then error("LrCatalog:withWriteAccessDo: could not obtain write access", 3) end
      C.waited = C.waited + timeoutParams.timeout -- it gave up only after the whole timeout
      C.aborted = C.aborted + 1
      if timeoutParams.callback then timeoutParams.callback() end
      return "aborted"
    end
    run_gate(kind, name, fn)
    return "executed"
  end

  -- queued gates run (or give up) on the next scheduler round; true when one ran
  function C:_run_queued()
    if #C.queue == 0 then return false end
    local queued = C.queue
    C.queue = {}
    for _, q in ipairs(queued) do
      if is_busy(q.kind, q.name) then
        C.waited = C.waited + q.params.timeout
        C.aborted = C.aborted + 1
        if q.params.callback then q.params.callback() end
      else
        run_gate(q.kind, q.name, q.fn)
      end
    end
    return true
  end

  function C:withWriteAccessDo(name, fn, timeoutParams)
    assert(type(name) == "string" and name ~= "", "withWriteAccessDo needs an action name for the Undo menu")
    return with_access("full", name, fn, timeoutParams)
  end
  function C:withPrivateWriteAccessDo(fn, timeoutParams)
    return with_access("private", nil, fn, timeoutParams)
  end
  return C
end

-- Small namespaces ----------------------------------------------------------------------------
-- LrView: strict where the SDK reference is (widget names, properties, bindings): see lrview.lua
local function new_view()
  return require("lrview").new()
end

-- sdk.new{plugin_dir=, real_time=} -> stand-in; :install() sets the globals the plug-in sees.
function sdk.new(opts)
  local S = setmetatable({ real_time = opts and opts.real_time or false }, sdk)
  S.plugin_dir = assert(opts and opts.plugin_dir, "plugin_dir required")
  S.prefs = {}
  S.logged = {}
  S.tasks = new_tasks(S)
  S.dialogs = new_dialogs(S)
  S.progress = new_progress(S)
  S.http = new_http(S)
  S.catalog = new_catalog(S)
  require("lrcollections").install(S) -- collection sets and smart collections (lrcollections.lua)
  S.fields = {}
  S.plugin = { id = "org.autocull.lightroom", path = S.plugin_dir }
  S.namespaces = {
    LrTasks = S.tasks,
    LrFunctionContext = new_function_context(S),
    LrDialogs = S.dialogs,
    LrProgressScope = S.progress.new,
    LrHttp = S.http,
    LrApplication = { activeCatalog = function() return S.catalog end,
                      versionString = function() return "stand-in" end },
    LrPrefs = { prefsForPlugin = function() return S.prefs end },
    LrView = new_view(),
    LrBinding = { makePropertyTable = function() return {} end },
    LrLogger = function(name)
      return { enable = function() end,
               info = function(_, m) S.logged[#S.logged + 1] = m end,
               trace = function(_, m) S.logged[#S.logged + 1] = m end }
    end,
    LrDate = {
      currentTime = function() return os.time() - 978307200 end,
      timeToW3CDate = function(t) return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t + 978307200)) end,
    },
    LrPathUtils = {
      child = function(p, c) return (p:gsub("/+$", "")) .. "/" .. c end,
      leafName = function(p) return (p:match("([^/\\]+)$")) or p end,
      parent = function(p) return p:match("^(.*)[/\\][^/\\]*$") end,
      getStandardFilePath = function(which)
        if which == "home" then return S.home or os.getenv("HOME") end -- sdk.home: a test's own
        if which == "temp" then return "/tmp" end
        if which == "appData" then
          if not S.app_data then -- a fresh folder per stand-in, so runs never share state
            local p = io.popen("mktemp -d")
            S.app_data = p:read("*l")
            p:close()
          end
          return S.app_data
        end
        error("stand-in: getStandardFilePath(" .. tostring(which) .. ") not modelled")
      end,
    },
    LrFileUtils = {
      exists = function(p)
        local f = io.open(p, "rb")
        if not f then return false end
        local ok = f:read(0)
        f:close()
        if ok == nil then return "directory" end
        return "file"
      end,
      readFile = function(p)
        local s = read_all(p)
        if s == nil then error("cannot read " .. p) end
        return s
      end,
      createAllDirectories = function(p)
        os.execute("mkdir -p " .. sh_quote(p))
        return true
      end,
      delete = function(p)
        local ok = os.remove(p)
        return ok ~= nil
      end,
      -- the reference does not say move replaces an existing file: here it refuses to
      move = function(src, dest)
        local f = io.open(dest, "rb")
        if f then f:close() error("LrFileUtils.move: destination exists: " .. dest, 2) end
        local ok, err = os.rename(src, dest)
        if not ok then error("LrFileUtils.move: " .. tostring(err), 2) end
        return true
      end,
    },
  }
  return S
end

function sdk:import(name)
  local ns = self.namespaces[name]
  if ns == nil then error("stand-in SDK: namespace " .. tostring(name) .. " is not modelled", 2) end
  return ns
end

-- Install the plug-in's globals and module path; forget previously loaded plug-in modules.
function sdk:install()
  local S = self
  _G.import = function(name) return S:import(name) end
  _G.LOC = LOC
  _G._PLUGIN = S.plugin
  _G.WIN_ENV = false
  _G.MAC_ENV = false
  if not package.path:find(S.plugin_dir, 1, true) then
    package.path = S.plugin_dir .. "/?.lua;" .. package.path
  end
  for name in pairs(package.loaded) do
    local f = io.open(S.plugin_dir .. "/" .. name .. ".lua", "r")
    if f then f:close() package.loaded[name] = nil end
  end
  -- plug-in fields come from the plug-in's own metadata provider
  local info = dofile(S.plugin_dir .. "/Info.lua")
  local provider = dofile(S.plugin_dir .. "/" .. info.LrMetadataProvider)
  for _, field in ipairs(provider.metadataFieldsForPhotos) do S.fields[field.id] = field end
  -- The burst fields CatalogPhotos writes are declared in MetadataDefinition.lua by the branch
  -- that owns it (issue 15, ids agreed: burstId, burstRank, burstBest). Until both are merged the
  -- stand-in declares them as that branch does; once the provider declares them this is a no-op.
  -- plugin_spec "declares every field the plug-in writes" checks the provider itself.
  for _, id in ipairs(sdk.AGREED_FIELDS) do
    if not S.fields[id] then
      S.fields[id] = { id = id, dataType = "string", readOnly = true, searchable = true, stand_in = true }
    end
  end
  S.info = info
  return S
end

-- The host the plug-in runs on: "windows" (WIN_ENV, the catalog takes either separator),
-- "mac" (MAC_ENV) or anything else (neither). Call before adding photos.
function sdk:platform(name)
  _G.WIN_ENV = name == "windows"
  _G.MAC_ENV = name == "mac"
  self.catalog.windows = name == "windows"
  return self
end

-- Run a menu item's file as Lightroom does, then drive the tasks it started.
function sdk:run_menu(file)
  dofile(self.plugin_dir .. "/" .. file)
  return self:run_tasks()
end

function sdk:run_tasks(max) return self.run_tasks_impl(max) end

return setmetatable(sdk, {
  __call = function(_, opts) return sdk.new(opts) end,
})
