--[[
  Prefs.lua - the plug-in's preferences (LrPrefs) with their defaults in one table.
]]

local LrPrefs = import "LrPrefs"

local M = {}

-- Every preference and its default. Keys are stored as is in LrPrefs.
M.DEFAULTS = {
  preset = "",               -- "" = the daemon's active policy
  profile = "",              -- taste profile ("wedding"); "" = the daemon's active profile
  writePicks = true,
  writeRatings = true,
  writeLabels = true,
  writeKeywords = true,
  respectUserRatings = true, -- leave photos I already rated or flagged alone
  stateFile = "",            -- "" = the daemon's state.json in its home folder
  autoApply = false,         -- poll for background results while Lightroom runs
  pollSeconds = 60,
  -- the GetChanges cursor and the photos not yet imported live per catalog (CatalogState, key `catalogs`)
  autocullCommand = "autocull", -- how to run the AutoCull command ("Start AutoCull" runs it with: service start)
  chunkSize = 200,           -- photos per catalog write (one undo step each)
  httpTimeout = 30,
  pollInterval = 0.5,        -- seconds between GetJob polls
}

M.DIALOG_KEYS = { "preset", "writePicks", "writeRatings", "writeLabels", "writeKeywords",
                  "respectUserRatings" }

-- The preferences table, with a default for every key still unset.
function M.get()
  local prefs = LrPrefs.prefsForPlugin()
  for key, value in pairs(M.DEFAULTS) do
    if prefs[key] == nil then prefs[key] = value end
  end
  return prefs
end

-- The taste profile to name in requests, or nil for the daemon's own (empty or blank).
function M.profile(p)
  local name = p and p.profile
  if type(name) ~= "string" then return nil end
  name = name:match("^%s*(.-)%s*$")
  if name == "" then return nil end
  return name
end

-- Options for decision_map.actions from the preferences (or a dialog's copy of them).
function M.map_options(p)
  return {
    respect_user_ratings = p.respectUserRatings ~= false,
    unrated_rating = 0,
    write_picks = p.writePicks ~= false,
    write_ratings = p.writeRatings ~= false,
    write_labels = p.writeLabels ~= false,
    write_keywords = p.writeKeywords ~= false,
    keyword_root = "AutoCull",
    burst_keywords = false,  -- bursts are the plug-in fields burstId / burstRank / burstBest
  }
end

return M
