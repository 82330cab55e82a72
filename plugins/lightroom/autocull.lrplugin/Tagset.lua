--[[
  Tagset.lua - the "AutoCull" choice of the Metadata panel's preset popup
  (LrMetadataTagsetFactory): the photo's name, rating and flags next to AutoCull's verdict,
  reasons and burst, so a photographer sees why without "All Plug-in Metadata".
  Items are field names (com.adobe.* for Lightroom's own, <toolkit id>.<field id> for the
  plug-in's) or {name, options}; com.adobe.separator draws a line, com.adobe.label a heading.
]]

local ID = "org.autocull.lightroom"

return {
  id = "autocullTagset",
  title = LOC "$$$/AutoCull/Tagset/Title=AutoCull",
  items = {
    "com.adobe.filename",
    "com.adobe.folder",
    "com.adobe.captureTime",
    "com.adobe.separator",
    "com.adobe.rating",
    "com.adobe.colorLabels",
    "com.adobe.separator",
    { "com.adobe.label", label = LOC "$$$/AutoCull/Tagset/Label=AutoCull" },
    ID .. ".verdict",
    ID .. ".opinion",
    { ID .. ".reasons", height_in_lines = 3 },
    ID .. ".burstId",
    ID .. ".burstRank",
    ID .. ".burstBest",
  },
}
