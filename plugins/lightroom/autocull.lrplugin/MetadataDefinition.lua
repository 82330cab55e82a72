--[[
  MetadataDefinition.lua - the plug-in's own fields on each photo (LrMetadataProvider).
  "AutoCull verdict" and "AutoCull reasons" show in the Metadata panel (read-only) and can
  be searched; the others are bookkeeping so nothing is applied twice and AutoCull can
  tell its own stars from yours. Written with catalog:withPrivateWriteAccessDo.
]]

return {
  metadataFieldsForPhotos = {
    {
      id = "verdict",
      title = LOC "$$$/AutoCull/Field/Verdict=AutoCull verdict",
      dataType = "string",
      readOnly = true,
      searchable = true,
      browsable = true,
    },
    {
      id = "reasons",
      title = LOC "$$$/AutoCull/Field/Reasons=AutoCull reasons",
      dataType = "string",
      readOnly = true,
      searchable = true,
    },
    { id = "lastWritten", dataType = "string" },      -- rating/pick/label as AutoCull left them
    { id = "appliedSignature", dataType = "string" }, -- the decision last applied
    { id = "appliedAt", dataType = "string" },        -- when (W3C date)
  },
  schemaVersion = 1,
}
