-- luacheck config for the Lightroom Classic plug-in (Lua 5.1) and its specs.
std = "lua51"
max_line_length = false -- LOC "$$$/...=English" strings are long by nature
exclude_files = { "autocull.lrplugin/dkjson.lua" }
files["autocull.lrplugin"] = {
  -- what Lightroom puts in every plug-in file's environment
  read_globals = { "import", "LOC", "_PLUGIN", "WIN_ENV", "MAC_ENV" },
}
files["spec"] = { std = "+busted" }
-- the stand-in keeps the SDK's documented signatures, used or not
files["spec/support"] = { unused_args = false }
