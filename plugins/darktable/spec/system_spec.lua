local system = require "lib/autocull/system"

describe("the private temporary folder (Linux)", function()
  it("is mode 0700 with the request files already 0600", function()
    local sys = system.new("linux")
    local dir = assert(sys.make_private_dir())
    local modes = sys.popen_read("stat -c '%a %n' '" .. dir .. "' '" .. dir .. "/request.cfg' '" .. dir .. "/body.json'")
    assert.matches("^700 ", modes)
    assert.matches("\n600 [^\n]*request.cfg", modes)
    assert.matches("\n600 [^\n]*body.json", modes)
    for _, f in ipairs({ "request.cfg", "body.json", "answer.json" }) do sys.remove(dir .. "/" .. f) end
    assert.is_true(sys.remove(dir))
  end)
end)

describe("the ledger on disk", function()
  it("survives a save and a reload, and leaves no temporary file", function()
    local F = require "spec.support.fakes"
    local ledger_mod = require "lib/autocull/ledger"
    local sys = system.new("linux")
    local path = os.tmpname()
    local l = ledger_mod.open(path, sys, F.json)
    l:put("/p/é 'x'.jpg", { rating = -1, labels = 1 })
    assert.is_true(l:save())
    assert.is_nil(io.open(path .. ".new"))
    local again = ledger_mod.open(path, sys, F.json)
    assert.is_true(again:is_ours("/p/é 'x'.jpg", { rating = -1, labels = 1 }))
    assert.is_false(again:is_ours("/p/é 'x'.jpg", { rating = 3, labels = 1 }))
    os.remove(path)
  end)

  it("a corrupt ledger counts as empty (AutoCull's marks then stay, as the photographer's)", function()
    local F = require "spec.support.fakes"
    local ledger_mod = require "lib/autocull/ledger"
    local sys = system.new("linux")
    local path = os.tmpname()
    sys.write_file(path, "{half")
    assert.is_false(ledger_mod.open(path, sys, F.json):is_ours("/p/a.jpg", { rating = 1, labels = 0 }))
    os.remove(path)
  end)
end)
