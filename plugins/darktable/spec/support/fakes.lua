--[[
  Stand-ins for darktable and for curl + the AutoCull daemon, for the busted specs.

  The darktable stand-in behaves like darktable 4.2.1 as seen on the real host
  (tests/test_darktable_plugin.py checks the real one): rating -1 rejects and
  wipes the stars, setting -1 twice keeps the reject, five boolean colour labels,
  tags by "a|b|c" name. It records every write so a spec can assert on them.
  dt.preferences.register raises without a GUI, as darktable-cli --core hangs there.

  The daemon stand-in reads the curl config file exactly as curl would (url,
  header, data-binary, output) and answers through the output file and curl's
  write-out line.
]]

-- busted runs in plugins/darktable, which stands for darktable's <config>/lua folder:
-- darktable puts <config>/lua/?.lua on package.path, so "lib/autocull/x" resolves the same way.
if not package.path:find("./?.lua", 1, true) then package.path = "./?.lua;" .. package.path end

local json = require "lib/autocull/dkjson"

local F = {}

-- --------------------------------------------------------------- darktable
local LABELS = { "red", "yellow", "green", "blue", "purple" }

function F.darktable(opts)
  opts = opts or {}
  local dt = { writes = {}, printed = {}, events = {}, prefs = {}, registered_prefs = {}, libs_registered = {},
               jobs = {}, sleeps = 0 }
  local tags_by_name, tag_objs = {}, {}

  local function new_image(path, filename, rating)
    local raw = { rating = rating or 1, red = false, yellow = false, green = false, blue = false, purple = false }
    local img = { path = path, filename = filename, _tags = {}, _raw = raw }
    return setmetatable(img, {
      __index = function(_, k) return raw[k] end,
      __newindex = function(_, k, v)
        if k == "rating" then
          assert(type(v) == "number" and v >= -1 and v <= 5, "rating out of range: " .. tostring(v))
          raw.rating = v   -- -1: rejected, stars gone
        elseif raw[k] ~= nil then
          assert(type(v) == "boolean", k .. " takes a boolean")
          raw[k] = v
        else
          error("field " .. tostring(k) .. " not writable")
        end
        dt.writes[#dt.writes + 1] = { image = filename, field = k, value = v }
      end,
    })
  end
  dt.new_image = new_image

  -- dt.database, dt.films and each film are darktable userdata: # and [i] are one SQL query each
  -- (darktable 4.2 runs "... ORDER BY id LIMIT ... OFFSET i" per index). They are counted in dt.queries;
  -- with opts.offset_cost each index also steps over the i rows before it, as SQLite's OFFSET does.
  dt.queries = 0
  local all_images, films, film_by_path = {}, {}, {}
  local function collection(items, fields)
    local mt = {
      __index = function(_, k)
        if type(k) == "number" then
          dt.queries = dt.queries + 1
          if opts.offset_cost then for _ = 1, k do local _ = items[1] end end
          return items[k]
        end
        return fields and fields[k]
      end,
      __len = function() dt.queries = dt.queries + 1; return #items end,
    }
    if newproxy then   -- Lua 5.1 (busted here): only userdata honours __len, as in darktable
      local u = newproxy(true)
      for k, v in pairs(mt) do getmetatable(u)[k] = v end
      return u
    end
    return setmetatable({}, mt)
  end
  dt.imports = 0
  dt.database = collection(all_images, { import = function() dt.imports = dt.imports + 1 end })
  dt.films = collection(films)
  function dt.add_image(path, filename, rating)
    local img = new_image(path, filename, rating)
    all_images[#all_images + 1] = img
    local film = film_by_path[path]
    if not film then
      film = { images = {} }
      film.object = collection(film.images, { path = path, id = #films + 1 })
      film_by_path[path] = film
      films[#films + 1] = film.object
    end
    film.images[#film.images + 1] = img
    return img
  end

  dt.tags = {}
  function dt.tags.create(name)
    if not tags_by_name[name] then
      tags_by_name[name] = { name = name }
      tag_objs[#tag_objs + 1] = tags_by_name[name]
    end
    return tags_by_name[name]
  end
  function dt.tags.attach(tag, image)
    for _, t in ipairs(image._tags) do if t == tag then return end end
    image._tags[#image._tags + 1] = tag
    dt.writes[#dt.writes + 1] = { image = image.filename, field = "attach", value = tag.name }
  end
  function dt.tags.detach(tag, image)
    for i, t in ipairs(image._tags) do
      if t == tag then table.remove(image._tags, i) break end
    end
    dt.writes[#dt.writes + 1] = { image = image.filename, field = "detach", value = tag.name }
  end
  function dt.tags.get_tags(image)
    local out = { { name = "darktable|format|jpg" } }
    for _, t in ipairs(image._tags) do out[#out + 1] = t end
    return out
  end

  dt.configuration = { api_version_string = opts.api or "9.0.0", running_os = "linux",
                       config_dir = opts.config_dir or os.tmpname() .. ".d", tmp_dir = "/tmp" }
  dt.control = { ending = false }
  function dt.control.sleep(ms) dt.sleeps = dt.sleeps + 1; if dt.on_sleep then dt.on_sleep() end end
  function dt.control.dispatch(fn, ...) dt.dispatched = (dt.dispatched or 0) + 1; dt.dispatched_fn = fn end
  function dt.print(m) dt.printed[#dt.printed + 1] = m end
  function dt.print_log(m) end
  function dt.print_error(m) end
  dt.preferences = {}
  function dt.preferences.register(module, name, kind, label, tooltip, default, ...)
    if not dt.gui then error("dt.preferences.register without a GUI (darktable-cli hangs here)") end
    dt.registered_prefs[name] = { kind = kind, default = default }
  end
  function dt.preferences.read(module, name, kind)
    local v = dt.prefs[module .. "/" .. name]
    if kind == "string" then
      if v == nil then return "" end
      if type(v) == "boolean" then return v and "TRUE" or "FALSE" end
      return tostring(v)
    end
    if v == nil then
      if kind == "bool" then return false end
      if kind == "integer" then return 0 end
    end
    return v
  end
  function dt.preferences.write(module, name, kind, value) dt.prefs[module .. "/" .. name] = value end
  function dt.register_event(name, event, fn, ...)
    local key = name .. "/" .. event
    if dt.events[key] then error("event " .. key .. " registered twice") end
    dt.events[key] = { fn = fn, extra = { ... } }
  end
  function dt.destroy_event(name, event) dt.events[name .. "/" .. event] = nil end
  dt.gettext = { gettext = function(s) return s end }

  if opts.gui then
    dt.gui = { libs = {}, views = { lighttable = { id = "lighttable" }, darkroom = { id = "darkroom" } },
               action_images = {} }
    function dt.gui.current_view() return dt.gui.views.lighttable end
    function dt.gui.create_job(text, percentage, cancel)
      local job = { text = text, valid = true, percent = 0, cancel = cancel }
      dt.jobs[#dt.jobs + 1] = job
      return job
    end
    function dt.new_widget(kind)
      return function(props)
        props = props or {}
        props.kind = kind
        return props
      end
    end
    function dt.register_lib(name, label, expandable, resettable, views, widget, ...)
      dt.libs_registered[#dt.libs_registered + 1] = { name = name, widget = widget, views = views }
      dt.gui.libs[name] = { visible = true, widget = widget }
    end
  end
  return dt
end

-- ------------------------------------------------------ curl + the daemon
--- A stand-in for io.popen("curl -K <cfg>") with a daemon behind it.
-- handlers[method] = function(request_table, call_index) -> status, answer_table
function F.system(handlers, opts)
  opts = opts or {}
  local files = {}
  local sys = { os = "linux", calls = {}, commands = {}, removed = {}, removed_dirs = {}, dirs = 0,
                env = opts.env or { AUTOCULL_HOME = "/home/u/.ac" } }
  sys.files = files
  sys.getenv = function(k) return sys.env[k] end
  function sys.read_file(p) return files[p] end
  function sys.write_file(p, text) files[p] = text; return true end
  function sys.remove(p) files[p] = nil; sys.removed[#sys.removed + 1] = p; return true end
  function sys.remove_dir(p) sys.removed[#sys.removed + 1] = p; sys.removed_dirs[#sys.removed_dirs + 1] = p; return true end
  function sys.make_private_dir()
    sys.dirs = sys.dirs + 1
    return "/tmp/autocull.test" .. sys.dirs
  end

  local function unquote(v)
    return (v:match('^"(.*)"$') or v):gsub('\\(.)', '%1')
  end

  function sys.popen_read(cmd)
    sys.commands[#sys.commands + 1] = cmd
    if opts.no_curl then return "" end
    local cfgpath = cmd:match("%-K '(.-)'$") or cmd:match("%-K (%S+)$")
    local cfg = {}
    local headers = {}
    for line in files[cfgpath]:gmatch("[^\n]+") do
      local k, v = line:match("^(%S+) = (.*)$")
      if k == "header" then headers[#headers + 1] = unquote(v)
      elseif k then cfg[k] = unquote(v) end
    end
    local port, method = cfg.url:match("^http://127%.0%.0%.1:(%d+)/autocull%.v1%.AutoCull/(%w+)$")
    if opts.down or tonumber(port) ~= (opts.port or 50852) then
      return "AUTOCULL_HTTP 000 7\n"
    end
    local token
    for _, h in ipairs(headers) do token = h:match("^X%-AutoCull%-Token: (.*)$") or token end
    local body = files[cfg["data-binary"]:sub(2)]
    local request = json.decode(body)
    sys.calls[#sys.calls + 1] = { method = method, request = request, token = token, body = body }
    local status, answer
    if token ~= (opts.token or "s3cret") then
      status, answer = 401, { code = "unauthenticated", message = "missing or wrong x-autocull-token header" }
    elseif handlers[method] then
      status, answer = handlers[method](request, #sys.calls)
    else
      status, answer = 404, { code = "unimplemented", message = "no such method " .. method }
    end
    files[cfg.output] = json.encode(answer)
    return string.format("AUTOCULL_HTTP %03d 0\n", status)
  end

  function sys.calls_to(method)
    local out = {}
    for _, c in ipairs(sys.calls) do if c.method == method then out[#out + 1] = c end end
    return out
  end

  -- state.json of a running daemon
  files[(sys.env.AUTOCULL_HOME or "") .. "/state.json"] = json.encode({
    token = opts.state_token or opts.token or "s3cret", http_port = opts.port or 50852, grpc_port = 50851,
    host = "127.0.0.1", pid = 4242 })
  return sys
end

F.json = {
  encode = function(v) return json.encode(v) end,
  decode = function(s)
    local v, _, err = json.decode(s, 1, nil)
    if err then error(err) end
    return v
  end,
}

function F.decision(path, verdict, extra)
  local d = { path = path, verdict = "VERDICT_" .. verdict:upper(), stars = 0,
              pick = "PICK_NONE", colorLabel = "COLOR_LABEL_NONE", keywords = {}, reasons = {} }
  if verdict == "keep" then d.pick, d.stars, d.keywords = "PICK_PICKED", 4, { "AutoCull|Keep" } end
  if verdict == "review" then d.stars, d.colorLabel, d.keywords = 2, "COLOR_LABEL_YELLOW", { "AutoCull|Review" } end
  if verdict == "reject" then
    d.pick, d.stars, d.colorLabel, d.keywords = "PICK_REJECTED", 0, "COLOR_LABEL_RED",
      { "AutoCull|Reject", "AutoCull|Reject|Blurry" }
  end
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

return F
