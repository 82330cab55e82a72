local F = require "spec.support.fakes"
local ds = require "lib/autocull/daemon_state"

local function env(t) return function(k) return t[k] end end

describe("the daemon's folder", function()
  it("is $AUTOCULL_HOME when set", function()
    assert.equals("/x/y", ds.home(env({ AUTOCULL_HOME = "/x/y", HOME = "/h" }), "linux"))
  end)
  it("defaults per platform", function()
    assert.equals("/h/.config/autocull", ds.home(env({ HOME = "/h" }), "linux"))
    assert.equals("/h/Library/Application Support/AutoCull", ds.home(env({ HOME = "/h" }), "macos"))
    assert.equals("C:\\Users\\u\\AppData\\Roaming\\AutoCull",
      ds.home(env({ APPDATA = "C:\\Users\\u\\AppData\\Roaming" }), "windows"))
  end)
  it("prefers the folder chosen in the preferences", function()
    assert.equals("/chosen", ds.home(env({ AUTOCULL_HOME = "/x" }), "linux", "/chosen"))
  end)
end)

describe("state.json", function()
  local files
  local function read(p) return files[p] end
  before_each(function() files = {} end)

  it("gives token, port and host", function()
    files["/h/state.json"] = '{"token":"t0k","http_port":1234,"grpc_port":5,"host":"127.0.0.1","pid":9}'
    local s = ds.load("/h", "linux", read, F.json.decode)
    assert.same({ token = "t0k", http_port = 1234, host = "127.0.0.1", pid = 9, path = "/h/state.json" }, s)
  end)
  it("missing: the daemon is not running, and how to start it", function()
    local s, err = ds.load("/h", "linux", read, F.json.decode)
    assert.is_nil(s)
    assert.matches("not running", err)
    assert.matches("autocull serve", err)
  end)
  it("broken JSON or missing fields are named", function()
    files["/h/state.json"] = "{oops"
    assert.matches("not valid JSON", select(2, ds.load("/h", "linux", read, F.json.decode)))
    files["/h/state.json"] = '{"http_port": 5}'
    assert.matches("no token", select(2, ds.load("/h", "linux", read, F.json.decode)))
    files["/h/state.json"] = '{"token": "t", "http_port": 0}'
    assert.matches("no token or HTTP port", select(2, ds.load("/h", "linux", read, F.json.decode)))
  end)
  it("refuses a daemon on another machine", function()
    files["/h/state.json"] = '{"token":"t","http_port":1,"host":"10.0.0.5"}'
    assert.matches("only talks to a daemon on this machine", select(2, ds.load("/h", "linux", read, F.json.decode)))
  end)
  it("refuses a token that could break out of a header line", function()
    files["/h/state.json"] = '{"token":"t\\r\\nX-Evil: 1","http_port":1}'
    assert.is_nil((ds.load("/h", "linux", read, F.json.decode)))
  end)
end)
