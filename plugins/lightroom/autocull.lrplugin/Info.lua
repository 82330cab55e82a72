--[[
  Info.lua - what Lightroom Classic reads to load the AutoCull plug-in.
  Menu items appear under Library > Plug-in Extras and File > Plug-in Extras.
]]

local menuItems = {
  {
    title = LOC "$$$/AutoCull/Menu/Cull=Auto-cull selection",
    file = "MenuCull.lua",
    enabledWhen = "photosAvailable",
  },
  {
    title = LOC "$$$/AutoCull/Menu/Teach=Teach AutoCull from my ratings",
    file = "MenuTeach.lua",
    enabledWhen = "photosAvailable",
  },
  {
    title = LOC "$$$/AutoCull/Menu/Apply=Apply background results",
    file = "MenuApplyChanges.lua",
  },
  {
    title = LOC "$$$/AutoCull/Menu/Status=AutoCull status",
    file = "MenuStatus.lua",
  },
  {
    title = LOC "$$$/AutoCull/Menu/Collections=Create AutoCull collections",
    file = "MenuCollections.lua",
  },
}

return {
  LrSdkVersion = 10.0,
  LrSdkMinimumVersion = 6.0, -- pickStatus, createKeyword(returnExisting) and write timeouts need 4.0+
  LrToolkitIdentifier = "org.autocull.lightroom",
  LrPluginName = LOC "$$$/AutoCull/PluginName=AutoCull",
  LrPluginInfoProvider = "PluginInfoProvider.lua",
  LrInitPlugin = "InitPlugin.lua",
  LrForceInitPlugin = true,
  LrShutdownPlugin = "ShutdownPlugin.lua",
  LrShutdownApp = "ShutdownApp.lua", -- stops the background poller when Lightroom quits
  LrMetadataProvider = "MetadataDefinition.lua",
  LrMetadataTagsetFactory = "Tagset.lua", -- the "AutoCull" choice of the Metadata panel
  LrLibraryMenuItems = menuItems,
  LrExportMenuItems = menuItems,
  VERSION = { major = 0, minor = 1, revision = 0, build = 1 },
}
