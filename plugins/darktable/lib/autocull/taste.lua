--[[
  autocull/taste.lua - how far the photographer can trust the learned taste model, in words.

  The daemon answers a TasteProfile (SendFeedback's `taste`, GetStatus's `profiles`):
  {profile, labels, embedded, ready, auc, spearman, needed, trusted, sentence}. Its
  quality is cross-validated (never the training fit): what to expect on photos the
  model has not seen. A model counts in decisions only once that quality reaches the
  policy's preference_min_quality ("trusted"). Pure functions, no darktable.
]]

local M = {}

local function number(x)
  return tonumber(x) or 0
end

local function fixed(x)
  return string.format("%.2f", x)
end

--- A profile name from the preference, trimmed; nil when blank (the daemon's own).
function M.profile(name)
  if type(name) ~= "string" then return nil end
  name = name:match("^%s*(.-)%s*$")
  if name == "" then return nil end
  return name
end

--- The policy's quality line from a GetPolicy answer, or nil.
function M.min_quality(policy)
  local values = type(policy) == "table" and policy.values or nil
  return type(values) == "table" and tonumber(values.preference_min_quality) or nil
end

--- One sentence on the model's quality and whether it counts, or nil without a TasteProfile.
-- `min_quality` is the policy's line (nil when unknown).
function M.quality(taste, min_quality)
  if type(taste) ~= "table" then return nil end
  if taste.ready then
    local name, value, line = "AUC", number(taste.auc), tonumber(min_quality)
    if value <= 0 then
      -- a star model alone: the daemon compares (1 + Spearman) / 2 with the same line
      name, value = "Spearman", number(taste.spearman)
      if line then line = 2 * line - 1 end
    end
    local count = math.floor(number(taste.embedded ~= nil and taste.embedded or taste.labels))
    local head = string.format("model quality: %s %s (cross-validated) on %d ratings", name, fixed(value), count)
    if taste.trusted then return head .. ", trusted: it counts in AutoCull's decisions" end
    if line then
      return string.format("%s, not yet trusted: it counts in decisions once its %s reaches %s", head, name,
        fixed(line))
    end
    return head .. ", not yet trusted: it counts in decisions once its quality reaches the policy's " ..
      "preference_min_quality"
  end
  local needed = math.floor(number(taste.needed))
  if needed > 0 then
    return string.format("model quality: no model yet, %d more ratings needed before one is trained", needed)
  end
  return "model quality: no model yet, so your taste does not count in decisions"
end

--- One line per profile for the status: the daemon's sentence and whether it counts.
function M.profile_line(taste)
  local sentence = tostring(taste.sentence or taste.profile or "")
  if taste.ready and taste.trusted then return "taste: " .. sentence .. " (trusted: counts in decisions)" end
  if taste.ready then return "taste: " .. sentence .. " (not yet trusted: left out of decisions)" end
  return "taste: " .. sentence
end

return M
