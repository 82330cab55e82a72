--[[
  Taste.lua - how far the photographer can trust the learned taste model, in words.

  The daemon answers a TasteProfile (SendFeedback's `taste`, GetStatus's `profiles`):
  {profile, labels, embedded, ready, auc, spearman, needed, trusted, sentence}. The
  quality is cross-validated (never the training fit), so it is what the photographer
  can expect on photos the model has not seen. A model counts in decisions only once
  that quality reaches the policy's preference_min_quality ("trusted").
]]

local M = {}

local function number(x)
  return tonumber(x) or 0
end

local function fixed(x)
  return string.format("%.2f", x)
end

-- "AUC 0.81" (keep vs reject) or "Spearman 0.52" (a star model alone), and the metric's name.
local function metric(taste)
  if number(taste.auc) > 0 then return LOC("$$$/AutoCull/Taste/Auc=AUC ^1", fixed(number(taste.auc))), "auc" end
  return LOC("$$$/AutoCull/Taste/Spearman=Spearman ^1", fixed(number(taste.spearman))), "spearman"
end

-- The policy's quality line (preference_min_quality) from GetPolicy, or nil when it cannot be read.
function M.min_quality(client)
  local policy = client:call("GetPolicy", nil)
  local values = type(policy) == "table" and policy.values or nil
  local q = type(values) == "table" and tonumber(values.preference_min_quality) or nil
  return q
end

-- The threshold in the model's own metric: AUC as is; for a star model the daemon compares
-- (1 + Spearman) / 2 with the same line, so Spearman must reach 2q - 1.
local function threshold(kind, q)
  if kind == "spearman" then return fixed(2 * q - 1) end
  return fixed(q)
end

-- One line on the model's quality and whether it counts, or nil without a TasteProfile.
-- `min_quality` is the policy's line (nil when unknown).
function M.quality_line(taste, min_quality)
  if type(taste) ~= "table" then return nil end
  if taste.ready then
    local what, kind = metric(taste)
    local count = tostring(math.floor(number(taste.embedded ~= nil and taste.embedded or taste.labels)))
    if taste.trusted then
      return LOC("$$$/AutoCull/Taste/Trusted=Model quality: ^1 (cross-validated) on ^2 ratings - trusted: it counts in AutoCull's decisions.",
                 what, count)
    end
    if tonumber(min_quality) then
      local name = kind == "auc" and LOC "$$$/AutoCull/Taste/AucName=AUC" or LOC "$$$/AutoCull/Taste/SpearmanName=Spearman"
      return LOC("$$$/AutoCull/Taste/Untrusted=Model quality: ^1 (cross-validated) on ^2 ratings - not yet trusted: it counts in decisions once its ^3 reaches ^4. More ratings help.",
                 what, count, name, threshold(kind, tonumber(min_quality)))
    end
    return LOC("$$$/AutoCull/Taste/UntrustedNoLine=Model quality: ^1 (cross-validated) on ^2 ratings - not yet trusted: it counts in decisions once its quality reaches the policy's preference_min_quality. More ratings help.",
               what, count)
  end
  local needed = math.floor(number(taste.needed))
  if needed > 0 then
    return LOC("$$$/AutoCull/Taste/Needed=Model quality: no model yet - ^1 more ratings needed before one is trained.",
               tostring(needed))
  end
  return LOC "$$$/AutoCull/Taste/NoModel=Model quality: no model yet, so your taste does not count in decisions."
end

-- One line per profile for the status dialog: the daemon's sentence and whether it counts.
function M.profile_line(taste)
  local sentence = tostring(taste.sentence or taste.profile or "")
  if taste.ready and taste.trusted then
    return LOC("$$$/AutoCull/Taste/ProfileTrusted=Taste: ^1 (trusted: counts in decisions)", sentence)
  elseif taste.ready then
    return LOC("$$$/AutoCull/Taste/ProfileUntrusted=Taste: ^1 (not yet trusted: left out of decisions)", sentence)
  end
  return LOC("$$$/AutoCull/Taste/Profile=Taste: ^1", sentence)
end

return M
