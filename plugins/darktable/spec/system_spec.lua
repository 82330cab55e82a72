local system = require "autocull.system"

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
