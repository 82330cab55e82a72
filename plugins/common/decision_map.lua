--[[
  decision_map.lua - AutoCull decision -> host actions. Pure Lua 5.1, no host API.

  Shared by the Lightroom Classic plugin and the darktable plugin: scripts/build_plugins.py
  (make plugins) copies it into each (tests/test_plugin_build.py fails on a stale copy).
  Keep this API stable; add, never rename.

  A decision is a decoded AutoCull `Decision` (protobuf JSON mapping: lowerCamelCase,
  enums by name, e.g. {path=..., verdict="VERDICT_REJECT", pick="PICK_REJECTED",
  stars=0, colorLabel="COLOR_LABEL_RED", keywords={"AutoCull|Reject|Blurry"},
  reasons={...}, error={code=..., message=...}, burstId=..., ...}). Enum numbers
  (0..n, as in the proto) are accepted too.

  `current` is what the photo carries now, as the host reads it:
    { rating = 0..5 or nil,                 -- nil = no stars
      pick = "picked"|"none"|"rejected"|nil,
      rejected = true|nil,                  -- darktable: rating -1 (optional)
      label = "red"|"yellow"|"green"|"blue"|"purple"|"none"|nil,
      labels = {"red", ...} or nil,         -- hosts with several labels (optional)
      keywords = {"AutoCull|Reject|Blurry", ...} or nil, -- full '|' paths (optional)
      last_written = {rating=, pick=, label=} or nil,    -- what AutoCull itself left
      autocull_wrote = true|nil,            -- host knows the state is AutoCull's own
      applied_signature = "..." or nil,     -- M.signature() of the last applied decision
      declined_signature = "..." or nil }   -- the marks the photographer took back (see below;
                                            -- M.marks_signature, or a full M.signature)

  The photographer's changes win. When the host has a record (last_written) and the photo's
  pick/rating/label no longer equal it, the photographer changed AutoCull's marks (by hand or
  with Edit > Undo): actions.record_changed is set (the host clears its record and the verdict
  it shows, and keeps actions.declined_signature, the marks signature of what was taken back),
  and a decision with those same marks (verdict, pick, stars, label; keywords do not count) is
  not applied again (skip_reason "changed_by_you"; with respect_user_ratings = false it is).
  A decision with other marks is applied as usual when the photo is not user-rated.
  Hosts that keep no last_written (darktable) see no change.

  `opts` (all optional):
    respect_user_ratings = true   -- leave photos the user rated, flagged or labelled
    unrated_rating = 0            -- the rating a fresh import carries (darktable: 1)
    write_picks = true, write_ratings = true, write_labels = true, write_keywords = true
    keyword_root = "AutoCull"     -- every keyword is placed under this parent
    skip_if_applied = false       -- skip when current.applied_signature == signature and the photo
                                  -- still carries what AutoCull wrote (current.last_written; after an
                                  -- Undo it does not, so the decision is applied again)
    burst_keywords = true         -- false: no "<root>|Burst|<id>" / "<root>|Bracket|<id>" keywords (the host shows bursts
                                  -- another way, actions.burst); old ones are removed on the next write

  API
    M.VERSION
    M.actions(decision, current, opts) -> actions
        actions = { skip = bool, skip_reason = nil|"failed"|"user_rated"|"already_applied"|"no_decision"
                                 |"changed_by_you",
                    record_changed = true|nil, declined_signature = "..."|nil,
                    pick = "picked"|"none"|"rejected"|nil (nil = leave),
                    rating = 0..5|nil (nil = leave), label = "red"..|"none"|nil (nil = leave),
                    keywords = {full paths} | nil (nil = leave keywords alone),
                    remove_keywords = {full paths under the root no longer wanted} | nil,
                    error = "message"|nil, error_code = "NOT_FOUND"|...|nil,
                    verdict = "keep"|"review"|"reject"|nil, reasons = {...},
                    burst_id = "..."|nil, signature = "...", marks_signature = "...",
                    burst = {id = "..."|"", rank = n|0, size = n|0, best = bool} }
        When `error` is set, `skip` is true and skip_reason is "failed".
    M.is_user_rated(current, opts) -> bool
    M.still_applied(current, decision, opts) -> bool  -- the photo still carries what AutoCull wrote
    M.verdict_name(v) -> "keep"|"review"|"reject"|nil
    M.pick_name(v) / M.label_name(v)   -- enum (name or number) -> host word or nil
    M.pick_enum(word) / M.label_enum(word) -- host word -> enum name (for SendFeedback)
    M.pick_from_status(n) -> "picked"|"none"|"rejected"  (Lightroom pickStatus 1/0/-1)
    M.feedback_item(path, current) -> {path, rating, pick, colorLabel}
    M.split_keyword(path) -> {"AutoCull", "Reject", "Blurry"} (trimmed, empties dropped)
    M.join_keyword(parts) -> "AutoCull|Reject|Blurry"
    M.normalize_keyword(path, root) -> full path under root, or nil when empty
    M.is_own_keyword(path, root) -> bool
    M.signature(decision) -> string (same decision, same signature)
    M.marks_signature(decision) -> string (same verdict, pick, stars and label; keywords ignored)
    M.marks_of(signature) -> the marks part of a stored full or marks signature (nil for nil)
    M.after_state(current, actions) -> {rating, pick, label} once actions are applied
    M.state_string(state) / M.parse_state(s)  -- compact text for a host's bookkeeping field
    M.new_summary() -> summary = {total, applied, unchanged, picked, rejected, review, keep,
        bursts, skipped, failed, skipped_by_reason = {reason = n},
        skips = {{path, reason}}, failures = {{path, reason, code}}}
    M.count(summary, decision, actions)  -- after applying (or skipping) one decision
    M.count_skip(summary, path, reason)  -- host-side skips ("virtual_copy", "file_missing", ...)
    M.count_unchanged(summary)           -- optional: applied but nothing differed
    M.summary_lines(summary) -> {English lines} (hosts may translate their own)
    M.SKIP_TEXT[reason] -> English phrase
    M.truncate_utf8(s, max_bytes, ellipsis) -> s cut to at most max_bytes bytes on a UTF-8
        character boundary, ending in ellipsis (default "\226\128\166", U+2026) when cut
]]

local M = {}

M.VERSION = "1.0"

local VERDICTS = {
  VERDICT_KEEP = "keep", VERDICT_REVIEW = "review", VERDICT_REJECT = "reject",
  [1] = "keep", [2] = "review", [3] = "reject",
}
local PICKS = {
  PICK_NONE = "none", PICK_PICKED = "picked", PICK_REJECTED = "rejected",
  [1] = "none", [2] = "picked", [3] = "rejected",
}
local LABELS = {
  COLOR_LABEL_NONE = "none", COLOR_LABEL_RED = "red", COLOR_LABEL_YELLOW = "yellow",
  COLOR_LABEL_GREEN = "green", COLOR_LABEL_BLUE = "blue", COLOR_LABEL_PURPLE = "purple",
  [1] = "none", [2] = "red", [3] = "yellow", [4] = "green", [5] = "blue", [6] = "purple",
}
local PICK_ENUM = { none = "PICK_NONE", picked = "PICK_PICKED", rejected = "PICK_REJECTED" }
local LABEL_ENUM = {
  none = "COLOR_LABEL_NONE", red = "COLOR_LABEL_RED", yellow = "COLOR_LABEL_YELLOW",
  green = "COLOR_LABEL_GREEN", blue = "COLOR_LABEL_BLUE", purple = "COLOR_LABEL_PURPLE",
}

M.SKIP_TEXT = {
  user_rated = "already rated, flagged or labelled by you",
  already_applied = "already applied",
  changed_by_you = "taken back by you (AutoCull did not mark them again)",
  no_decision = "no decision",
  failed = "could not be read",
  virtual_copy = "virtual copy",
  file_missing = "file missing",
  not_in_catalog = "not in this catalog",
  not_in_selection = "answered for a file not in the selection",
  write_busy = "catalog busy, not written",
}

local DEFAULT_ROOT = "AutoCull"

local function opt(opts, key, default)
  if opts == nil or opts[key] == nil then return default end
  return opts[key]
end

function M.verdict_name(v) return VERDICTS[v] end
function M.pick_name(v) return PICKS[v] end
function M.label_name(v) return LABELS[v] end

function M.pick_enum(word)
  return PICK_ENUM[word or "none"] or "PICK_UNSPECIFIED"
end

function M.label_enum(word)
  if word == nil or word == "" then return "COLOR_LABEL_NONE" end
  return LABEL_ENUM[string.lower(word)] or "COLOR_LABEL_UNSPECIFIED"
end

function M.pick_from_status(n)
  if n == 1 then return "picked" end
  if n == -1 then return "rejected" end
  return "none"
end

-- Keywords ------------------------------------------------------------------

local function trim(s)
  return (string.gsub(s, "^%s*(.-)%s*$", "%1"))
end

function M.split_keyword(path)
  local parts = {}
  if type(path) ~= "string" then return parts end
  local start = 1
  while true do
    local i = string.find(path, "|", start, true)
    local piece = trim(string.sub(path, start, (i or 0) - 1))
    if piece ~= "" then parts[#parts + 1] = piece end
    if not i then break end
    start = i + 1
  end
  return parts
end

function M.join_keyword(parts)
  return table.concat(parts, "|")
end

function M.normalize_keyword(path, root)
  root = root or DEFAULT_ROOT
  local parts = M.split_keyword(path)
  if #parts == 0 then return nil end
  if parts[1] ~= root then table.insert(parts, 1, root) end
  if #parts == 1 then return nil end -- the bare root says nothing
  return M.join_keyword(parts)
end

function M.is_own_keyword(path, root)
  local parts = M.split_keyword(path)
  return parts[1] == (root or DEFAULT_ROOT)
end

-- State ---------------------------------------------------------------------

local function rating_of(current)
  local r = current and current.rating
  if type(r) ~= "number" then return 0 end
  return r
end

local function pick_of(current)
  if current == nil then return "none" end
  if current.rejected then return "rejected" end
  local p = current.pick
  if p == "picked" or p == "rejected" then return p end
  return "none"
end

local function label_of(current)
  if current == nil then return "none" end
  local l = current.label
  if type(l) == "string" and l ~= "" and l ~= "none" then return string.lower(l) end
  if type(current.labels) == "table" and current.labels[1] then return current.labels[1] end
  return "none"
end

local function same_state(a, b)
  if a == nil or b == nil then return false end
  return (a.rating or 0) == (b.rating or 0)
     and (a.pick or "none") == (b.pick or "none")
     and (a.label or "none") == (b.label or "none")
end

function M.current_state(current)
  return { rating = rating_of(current), pick = pick_of(current), label = label_of(current) }
end

function M.is_user_rated(current, opts)
  if current == nil then return false end
  if current.autocull_wrote then return false end
  local state = M.current_state(current)
  if current.last_written and same_state(state, current.last_written) then return false end
  local unrated = opt(opts, "unrated_rating", 0)
  if state.rating ~= 0 and state.rating ~= unrated then return true end
  if state.pick ~= "none" then return true end
  if state.label ~= "none" then return true end
  if type(current.labels) == "table" and #current.labels > 1 then return true end
  return false
end

function M.state_string(state)
  state = state or {}
  return string.format("rating=%d;pick=%s;label=%s", state.rating or 0, state.pick or "none",
                       state.label or "none")
end

function M.parse_state(s)
  if type(s) ~= "string" then return nil end
  local r, p, l = string.match(s, "^rating=(%-?%d+);pick=(%a+);label=(%a+)$")
  if not r then return nil end
  return { rating = tonumber(r), pick = p, label = l }
end

function M.after_state(current, actions)
  local state = M.current_state(current)
  if actions and not actions.skip then
    if actions.rating ~= nil then state.rating = actions.rating end
    if actions.pick ~= nil then state.pick = actions.pick end
    if actions.label ~= nil then state.label = actions.label end
  end
  return state
end

-- Decisions -----------------------------------------------------------------

local function keyword_list(decision, root)
  local out, seen = {}, {}
  if type(decision.keywords) ~= "table" then return out end
  for _, k in ipairs(decision.keywords) do
    local full = M.normalize_keyword(k, root)
    if full and not seen[full] then
      seen[full] = true
      out[#out + 1] = full
    end
  end
  return out
end

-- "<root>|Burst|<id>" and "<root>|Bracket|<id>": the daemon names a group of near-duplicates
-- one or the other (Decision.bracket); both are the burst fields where the host shows them.
local GROUP_WORDS = { Burst = true, Bracket = true }
local function is_burst_keyword(path, root)
  local parts = M.split_keyword(path)
  return parts[1] == (root or DEFAULT_ROOT) and GROUP_WORDS[parts[2]] == true
end

local function wanted_keywords(decision, root, burst_keywords)
  local list = keyword_list(decision, root)
  if burst_keywords then return list end
  local out = {}
  for _, k in ipairs(list) do
    if not is_burst_keyword(k, root) then out[#out + 1] = k end
  end
  return out
end

-- Does the photo still carry what AutoCull last wrote for `decision`? Rating, flag and label
-- must equal current.last_written (an Edit > Undo, or the photographer, changes them), and when
-- keywords are written every AutoCull keyword the decision wants must still be on the photo.
function M.still_applied(current, decision, opts)
  if current == nil or current.last_written == nil then return false end
  if not same_state(M.current_state(current), current.last_written) then return false end
  if opt(opts, "write_keywords", true) and type(current.keywords) == "table" and type(decision) == "table" then
    local have = {}
    for _, k in ipairs(current.keywords) do have[k] = true end
    local root = opt(opts, "keyword_root", DEFAULT_ROOT)
    for _, k in ipairs(wanted_keywords(decision, root, opt(opts, "burst_keywords", true))) do
      if not have[k] then return false end
    end
  end
  return true
end

local function marks_parts(decision)
  local stars = tonumber(decision.stars) or 0
  return {
    tostring(VERDICTS[decision.verdict] or "-"),
    tostring(PICKS[decision.pick] or "-"),
    tostring(math.floor(stars)),
    tostring(LABELS[decision.colorLabel] or "-"),
  }
end

-- The whole decision: marks and every keyword (face count, content, Burst|<id>, ...). Tells
-- "already applied" (the photo carries exactly this).
function M.signature(decision)
  if type(decision) ~= "table" then return "" end
  local kws = keyword_list(decision, DEFAULT_ROOT)
  table.sort(kws)
  local parts = marks_parts(decision)
  parts[#parts + 1] = table.concat(kws, ",")
  return table.concat(parts, ";")
end

-- Only what the photographer sees and takes back: verdict, pick, stars, label. A decision the
-- photographer took back is remembered by this, so a new burst id or face-count keyword with
-- the same marks does not count as a new decision and overwrite their choice.
function M.marks_signature(decision)
  if type(decision) ~= "table" then return "" end
  return table.concat(marks_parts(decision), ";")
end

-- The marks part of a stored signature, full (M.signature, as earlier versions stored it) or
-- marks only: its first four ';' fields (none of them can hold a ';'). nil for a non-string.
function M.marks_of(signature)
  if type(signature) ~= "string" then return nil end
  local a, b, c, d = signature:match("^([^;]*);([^;]*);([^;]*);([^;]*)")
  if not a then return signature end
  return table.concat({ a, b, c, d }, ";")
end

local function error_of(decision)
  local e = decision.error
  if type(e) ~= "table" then return nil end
  local code, message = e.code, e.message
  if (code == nil or code == "") and (message == nil or message == "") then return nil end
  return (message ~= nil and message ~= "") and message or code, code
end

function M.actions(decision, current, opts)
  local a = { skip = false, reasons = {} }
  if type(decision) ~= "table" then
    a.skip, a.skip_reason, a.error = true, "failed", "no decision received"
    return a
  end
  if type(decision.reasons) == "table" then a.reasons = decision.reasons end
  a.signature = M.signature(decision)
  if decision.burstId ~= nil and decision.burstId ~= "" then a.burst_id = decision.burstId end
  a.burst = {
    id = a.burst_id or "",
    rank = a.burst_id and math.floor(tonumber(decision.burstRank) or 0) or 0,
    size = a.burst_id and math.floor(tonumber(decision.burstSize) or 0) or 0,
    best = a.burst_id ~= nil and decision.burstBest == true,
  }

  local message, code = error_of(decision)
  a.verdict = VERDICTS[decision.verdict]
  if message then
    a.skip, a.skip_reason, a.error, a.error_code = true, "failed", message, code
    return a
  end
  if a.verdict == nil then
    a.skip, a.skip_reason = true, "no_decision"
    return a
  end
  -- the photographer changed (or undid) what AutoCull wrote: those marks stay taken back.
  -- Compared by marks only (M.marks_signature): a re-decision with the same verdict/pick/stars/
  -- label but another keyword (new burst, face count, taste model) is the same to them.
  a.marks_signature = M.marks_signature(decision)
  local declined = current and current.declined_signature or nil
  if current and current.last_written ~= nil
     and not same_state(M.current_state(current), current.last_written) then
    a.record_changed = true
    declined = current.applied_signature or declined
  end
  declined = M.marks_of(declined)
  a.declined_signature = declined
  if opt(opts, "skip_if_applied", false) and current and current.applied_signature == a.signature
     and M.still_applied(current, decision, opts) then
    a.skip, a.skip_reason = true, "already_applied"
    return a
  end
  if opt(opts, "respect_user_ratings", true) and M.is_user_rated(current, opts) then
    a.skip, a.skip_reason = true, "user_rated"
    return a
  end
  if opt(opts, "respect_user_ratings", true) and declined ~= nil and declined == a.marks_signature then
    a.skip, a.skip_reason = true, "changed_by_you"
    return a
  end

  if opt(opts, "write_picks", true) then a.pick = PICKS[decision.pick] end
  if opt(opts, "write_ratings", true) then
    local stars = tonumber(decision.stars)
    if stars then a.rating = math.max(0, math.min(5, math.floor(stars))) end
  end
  if opt(opts, "write_labels", true) then a.label = LABELS[decision.colorLabel] end
  local root = opt(opts, "keyword_root", DEFAULT_ROOT)
  local burst_keywords = opt(opts, "burst_keywords", true)
  if opt(opts, "write_keywords", true) then
    a.keywords = wanted_keywords(decision, root, burst_keywords)
    local wanted = {}
    for _, k in ipairs(a.keywords) do wanted[k] = true end
    a.remove_keywords = {}
    if current and type(current.keywords) == "table" then
      for _, k in ipairs(current.keywords) do
        if M.is_own_keyword(k, root) and not wanted[k] then
          a.remove_keywords[#a.remove_keywords + 1] = k
        end
      end
    end
  elseif not burst_keywords and current and type(current.keywords) == "table" then
    -- bursts moved out of the keyword list: old burst keywords go even when keywords are not written
    for _, k in ipairs(current.keywords) do
      if is_burst_keyword(k, root) then
        a.remove_keywords = a.remove_keywords or {}
        a.remove_keywords[#a.remove_keywords + 1] = k
      end
    end
  end
  return a
end

-- Cut `s` to at most `max_bytes` bytes without splitting a UTF-8 character; when cut, it ends
-- in `ellipsis` (default U+2026 "\226\128\166"), counted in the limit.
function M.truncate_utf8(s, max_bytes, ellipsis)
  s = tostring(s or "")
  if #s <= max_bytes then return s end
  ellipsis = ellipsis or "\226\128\166"
  local cut = max_bytes - #ellipsis
  if cut < 0 then return "" end
  -- back up while the byte after the cut is a continuation byte (10xxxxxx)
  while cut > 0 do
    local b = string.byte(s, cut + 1)
    if b == nil or b < 128 or b >= 192 then break end
    cut = cut - 1
  end
  return string.sub(s, 1, cut) .. ellipsis
end

function M.feedback_item(path, current)
  local state = M.current_state(current)
  return {
    path = path,
    rating = state.rating,
    pick = M.pick_enum(state.pick),
    colorLabel = M.label_enum(state.label),
  }
end

-- Summary -------------------------------------------------------------------

function M.new_summary()
  return {
    total = 0, applied = 0, unchanged = 0,
    picked = 0, rejected = 0, review = 0, keep = 0,
    bursts = 0, skipped = 0, failed = 0,
    skipped_by_reason = {}, failures = {}, skips = {},
    _bursts = {},
  }
end

function M.count_skip(summary, path, reason)
  summary.total = summary.total + 1
  summary.skipped = summary.skipped + 1
  summary.skipped_by_reason[reason] = (summary.skipped_by_reason[reason] or 0) + 1
  summary.skips[#summary.skips + 1] = { path = path, reason = reason }
end

function M.count_unchanged(summary)
  summary.unchanged = summary.unchanged + 1
end

function M.count(summary, decision, actions)
  if actions.error then
    summary.total = summary.total + 1
    summary.failed = summary.failed + 1
    summary.failures[#summary.failures + 1] = {
      path = type(decision) == "table" and decision.path or nil,
      reason = actions.error, code = actions.error_code,
    }
    return
  end
  if actions.skip then
    M.count_skip(summary, decision and decision.path, actions.skip_reason or "no_decision")
    return
  end
  summary.total = summary.total + 1
  summary.applied = summary.applied + 1
  if actions.verdict == "keep" then summary.keep = summary.keep + 1 end
  if actions.pick == "picked" or (actions.pick == nil and actions.verdict == "keep") then
    summary.picked = summary.picked + 1
  end
  if actions.verdict == "reject" then summary.rejected = summary.rejected + 1 end
  if actions.verdict == "review" then summary.review = summary.review + 1 end
  if actions.burst_id and not summary._bursts[actions.burst_id] then
    summary._bursts[actions.burst_id] = true
    summary.bursts = summary.bursts + 1
  end
end

function M.summary_lines(summary)
  local lines = {
    string.format("%d picked, %d rejected, %d to review, %d bursts",
                  summary.picked, summary.rejected, summary.review, summary.bursts),
  }
  if summary.skipped > 0 then
    local parts, reasons = {}, {}
    for reason in pairs(summary.skipped_by_reason) do reasons[#reasons + 1] = reason end
    table.sort(reasons)
    for _, reason in ipairs(reasons) do
      parts[#parts + 1] = string.format("%d %s", summary.skipped_by_reason[reason],
                                        M.SKIP_TEXT[reason] or reason)
    end
    lines[#lines + 1] = string.format("%d skipped: %s", summary.skipped, table.concat(parts, ", "))
  end
  if summary.failed > 0 then
    lines[#lines + 1] = string.format("%d failed:", summary.failed)
    for _, f in ipairs(summary.failures) do
      lines[#lines + 1] = string.format("  %s: %s", tostring(f.path), tostring(f.reason))
    end
  end
  return lines
end

return M
