--[[
  autocull/collections.lua - one click to see AutoCull's keeps, photos to review or rejects.

  darktable's collect module takes rules through darktable.gui.libs.collect:
  new_rule() gives a rule {mode, item, data}; filter(rules) sets the collection and
  returns the rules it had before. "Show rejects" narrows the collection the
  photographer is looking at (their rules AND tag "AutoCull|Reject"); pressing another
  verdict narrows the same original collection, and "back" restores it. Every
  decision carries exactly one verdict keyword, <root>|Keep, <root>|Review or
  <root>|Reject; the root is the policy's keyword_root as the plugin attaches it
  (the controller learns it from the decisions it writes: "AutoCull" unless the
  daemon's policy says otherwise). The tags exist only when the "attach AutoCull
  tags" preference is on: without them the module greys these buttons out.
]]

local M = {}

M.ROOT = "AutoCull"
M.VERDICTS = { keep = "Keep", review = "Review", reject = "Reject" }
M.TAGS = { keep = "AutoCull|Keep", review = "AutoCull|Review", reject = "AutoCull|Reject" }

--- The tag that marks `verdict` under `root` (default "AutoCull").
function M.tag(verdict, root)
  local v = M.VERDICTS[verdict]
  if not v then error("unknown verdict " .. tostring(verdict)) end
  return ((root and root ~= "") and root or M.ROOT) .. "|" .. v
end
M.MAX_RULES = 10   -- darktable's collect module holds at most 10 rules

local function copy_rule(collect, r)
  local n = collect.new_rule()
  n.mode = r.mode
  n.item = r.item
  n.data = r.data
  return n
end

--- The rules that show `verdict` within `base` (a list of rules).
function M.rules_for(collect, base, verdict, root)
  local tag = M.tag(verdict, root)
  local rules = {}
  local keep = math.min(#base, M.MAX_RULES - 1)
  for i = 1, keep do rules[#rules + 1] = copy_rule(collect, base[i]) end
  local r = collect.new_rule()
  -- the first rule's mode is ignored by darktable; AND narrows what the rules before it collect
  r.mode = "DT_LIB_COLLECT_MODE_AND"
  r.item = "DT_COLLECTION_PROP_TAG"
  r.data = tag
  rules[#rules + 1] = r
  return rules
end

local View = {}
View.__index = View

--- A viewer over darktable.gui.libs.collect; remembers the photographer's collection.
function M.new(collect)
  return setmetatable({ collect = collect, saved = nil, showing = nil }, View)
end

local function list(rules)
  local out = {}
  for i = 1, #rules do out[i] = rules[i] end
  return out
end

--- Show AutoCull's `verdict` ("keep", "review", "reject") within the photographer's collection.
function View:show(verdict, root)
  local base = self.saved or list(self.collect.filter())
  local before = self.collect.filter(M.rules_for(self.collect, base, verdict, root))
  if not self.saved then self.saved = list(before) end
  self.showing = verdict
  return true
end

--- Back to the collection the photographer had before the first show().
function View:back()
  if not self.saved then return false end
  self.collect.filter(self.saved)
  self.saved, self.showing = nil, nil
  return true
end

return M
