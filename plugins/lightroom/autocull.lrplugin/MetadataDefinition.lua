--[[
  MetadataDefinition.lua - the plug-in's own fields on each photo (LrMetadataProvider).
  "AutoCull verdict", "AutoCull reasons" and the burst fields show in the Metadata panel
  (read-only; the "AutoCull" tagset of Tagset.lua shows them without "All Plug-in Metadata")
  and the searchable ones feed the smart collections of Collections.lua; the others are
  bookkeeping so nothing is applied twice and AutoCull can tell its own stars from yours.
  Written with catalog:withPrivateWriteAccessDo.

  schemaVersion: raised whenever a field is added or changed, so Lightroom updates the
  catalog's record of the fields. 2 added burstId/burstRank/burstBest; new fields start
  empty and the next cull or apply fills them, so no updateFromEarlierSchemaVersion is needed
  (it would run inside withPrivateWriteAccessDo, where AutoCull's old burst keywords could
  not be removed anyway). 3 added opinion: the verdict field holds only what AutoCull applied
  to the catalog (the smart collections list it); for a photo left alone because you rated it
  AutoCull's view goes to opinion, and the next cull or apply clears a stale verdict there;
  declinedSignature/writtenSignature remember a decision the photographer took back, by its
  marks only (decision_map.marks_signature: verdict, pick, stars, label), so a re-decision that
  changes a keyword does not count as new; full signatures stored by earlier versions are read
  by their marks part, so no schema change was needed for that. 4 added pendingWritten: set in
  the write's own gate and cleared by the private gate that records writtenSignature, so a
  private gate that gave up is not taken for an Undo (CatalogPhotos.declined).
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
    {
      id = "opinion", -- AutoCull's verdict for a photo it left alone ("reject — not applied: ...")
      title = LOC "$$$/AutoCull/Field/Opinion=AutoCull opinion (not applied)",
      dataType = "string",
      readOnly = true,
      searchable = true,
    },
    {
      id = "burstId", -- the burst (near-duplicate series) this photo belongs to
      title = LOC "$$$/AutoCull/Field/BurstId=AutoCull burst",
      dataType = "string",
      readOnly = true,
      searchable = true,
      browsable = true,
    },
    {
      id = "burstRank", -- "1 of 5": this photo's place in its burst, best first
      title = LOC "$$$/AutoCull/Field/BurstRank=AutoCull burst rank",
      dataType = "string",
      readOnly = true,
    },
    {
      id = "burstBest", -- "yes" on the best frame of its burst, empty otherwise
      title = LOC "$$$/AutoCull/Field/BurstBest=AutoCull best of burst",
      dataType = "string",
      readOnly = true,
      searchable = true,
      browsable = true,
    },
    { id = "lastWritten", dataType = "string" },      -- rating/pick/label as AutoCull left them
    { id = "appliedSignature", dataType = "string" }, -- the decision last applied
    { id = "appliedAt", dataType = "string" },        -- when (W3C date)
    { id = "declinedSignature", dataType = "string" }, -- marks the photographer took back
    { id = "writtenSignature", dataType = "string" },  -- marks last written (private gate: no undo)
    { id = "pendingWritten", dataType = "string" },    -- marks written, private record not made yet
  },
  schemaVersion = 4,
}
