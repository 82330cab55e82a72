-- busted --lua=lua5.1 plugins/common/spec
local here = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "plugins/common"
package.path = here .. "/?.lua;" .. package.path

local pending = require "pending"

describe("the list of photos a background result waits for", function()
  it("adds new paths at the end and moves a path decided again to the end", function()
    local list, dropped = pending.add({ "/a", "/b", "/c" }, { "/b", "/d" })
    assert.are.same({ "/a", "/c", "/b", "/d" }, list)
    assert.are.equal(0, dropped)
  end)

  it("keeps the newest when the bound is passed, and says how many of the oldest went", function()
    local list, dropped = pending.add({ "/1", "/2", "/3" }, { "/4", "/5" }, 3)
    assert.are.same({ "/3", "/4", "/5" }, list)
    assert.are.equal(2, dropped)
    assert.is_true(pending.LIMIT >= 200000) -- far above any shoot
  end)

  it("removes applied paths and says whether anything changed", function()
    local list, changed = pending.remove({ "/a", "/b", "/c" }, { "/b", "/x" })
    assert.are.same({ "/a", "/c" }, list)
    assert.is_true(changed)
    list, changed = pending.remove({ "/a" }, { "/x" })
    assert.are.same({ "/a" }, list)
    assert.is_false(changed)
  end)
end)
