-- busted --lua=lua5.1 plugins/common/spec
local here = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "plugins/common"
package.path = here .. "/?.lua;" .. package.path

local map = require "decision_map"

local function decision(over)
  local d = {
    path = "/photos/a.jpg", verdict = "VERDICT_KEEP", pick = "PICK_PICKED", stars = 4,
    colorLabel = "COLOR_LABEL_NONE", keywords = { "AutoCull|Keep" }, reasons = { "sharp: 0.8" },
    error = { code = "", message = "" }, burstId = "", burstSize = 0,
  }
  for k, v in pairs(over or {}) do d[k] = v end
  return d
end

describe("decision_map.actions", function()
  it("maps a keeper to picked, stars, label and keywords", function()
    local a = map.actions(decision(), { rating = nil, pick = "none", label = "none" }, {})
    assert.is_false(a.skip)
    assert.are.equal("picked", a.pick)
    assert.are.equal(4, a.rating)
    assert.are.equal("none", a.label)
    assert.are.same({ "AutoCull|Keep" }, a.keywords)
    assert.are.same({}, a.remove_keywords)
    assert.are.equal("keep", a.verdict)
    assert.are.same({ "sharp: 0.8" }, a.reasons)
  end)

  it("maps a reject with its red label and nested keywords", function()
    local a = map.actions(decision {
      verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", stars = 0, colorLabel = "COLOR_LABEL_RED",
      keywords = { "AutoCull|Reject|Blurry", "AutoCull|Reject|Blurry" },
    }, {}, nil)
    assert.are.equal("rejected", a.pick)
    assert.are.equal(0, a.rating)
    assert.are.equal("red", a.label)
    assert.are.same({ "AutoCull|Reject|Blurry" }, a.keywords)
  end)

  it("accepts enum numbers as the proto defines them", function()
    local a = map.actions(decision { verdict = 2, pick = 1, colorLabel = 3 }, {}, {})
    assert.are.equal("review", a.verdict)
    assert.are.equal("none", a.pick)
    assert.are.equal("yellow", a.label)
  end)

  it("leaves flag and label alone when the daemon says UNSPECIFIED", function()
    local a = map.actions(decision { pick = "PICK_UNSPECIFIED", colorLabel = "COLOR_LABEL_UNSPECIFIED" }, {}, {})
    assert.is_nil(a.pick)
    assert.is_nil(a.label)
  end)

  it("clamps stars into 0..5", function()
    assert.are.equal(5, map.actions(decision { stars = 9 }, {}, {}).rating)
    assert.are.equal(0, map.actions(decision { stars = -2 }, {}, {}).rating)
  end)

  it("turns a per-file error into a failure with the daemon's message", function()
    local a = map.actions(decision {
      verdict = "VERDICT_UNSPECIFIED", error = { code = "NOT_FOUND", message = "file not found: /photos/a.jpg" },
    }, {}, {})
    assert.is_true(a.skip)
    assert.are.equal("failed", a.skip_reason)
    assert.are.equal("file not found: /photos/a.jpg", a.error)
    assert.are.equal("NOT_FOUND", a.error_code)
    assert.is_nil(a.pick); assert.is_nil(a.rating); assert.is_nil(a.keywords)
  end)

  it("uses the error code when the message is empty", function()
    local a = map.actions(decision { verdict = 0, error = { code = "CORRUPT", message = "" } }, {}, {})
    assert.are.equal("CORRUPT", a.error)
  end)

  it("skips a decision without verdict or error", function()
    local a = map.actions(decision { verdict = "VERDICT_UNSPECIFIED" }, {}, {})
    assert.is_true(a.skip)
    assert.are.equal("no_decision", a.skip_reason)
    assert.is_nil(a.error)
  end)

  it("leaves photos the user rated, flagged or labelled alone by default", function()
    for _, cur in ipairs {
      { rating = 3 }, { pick = "picked" }, { pick = "rejected" }, { label = "green" },
      { rejected = true }, { labels = { "blue" } },
    } do
      local a = map.actions(decision(), cur, {})
      assert.is_true(a.skip)
      assert.are.equal("user_rated", a.skip_reason)
      assert.is_nil(a.rating)
    end
  end)

  it("overwrites rated photos when told not to respect ratings", function()
    local a = map.actions(decision(), { rating = 3 }, { respect_user_ratings = false })
    assert.is_false(a.skip)
    assert.are.equal(4, a.rating)
  end)

  it("honours each write switch", function()
    local a = map.actions(decision(), {}, { write_picks = false, write_ratings = false,
                                            write_labels = false, write_keywords = false })
    assert.is_false(a.skip)
    assert.is_nil(a.pick); assert.is_nil(a.rating); assert.is_nil(a.label)
    assert.is_nil(a.keywords); assert.is_nil(a.remove_keywords)
  end)

  it("removes AutoCull keywords of an earlier decision, never the user's", function()
    local cur = { keywords = { "AutoCull|Reject|Blurry", "AutoCull|Keep", "Travel|Rome", "Blurry" } }
    local a = map.actions(decision(), cur, {})
    assert.are.same({ "AutoCull|Reject|Blurry" }, a.remove_keywords)
  end)

  it("places keywords under the root and drops empty parts", function()
    local a = map.actions(decision { keywords = { "Burst| b1 ", "||", "AutoCull", " AutoCull | Keep |" } }, {}, {})
    assert.are.same({ "AutoCull|Burst|b1", "AutoCull|Keep" }, a.keywords)
  end)

  it("skips a decision already applied when asked to, while the photo still carries it", function()
    local d = decision()
    local cur = { applied_signature = map.signature(d), rating = 4, pick = "picked", label = "none",
                  keywords = { "AutoCull|Keep" }, last_written = { rating = 4, pick = "picked", label = "none" } }
    assert.are.equal("already_applied", map.actions(d, cur, { skip_if_applied = true }).skip_reason)
    assert.is_false(map.actions(d, cur, {}).skip)
  end)

  it("after the photographer takes AutoCull's marks back (by hand or Undo) the same decision is not applied again", function()
    local d = decision()
    -- the flag, stars and keyword are gone; the record of what AutoCull wrote survived
    local cur = { applied_signature = map.signature(d), rating = nil, pick = "none", label = "none",
                  keywords = {}, last_written = { rating = 4, pick = "picked", label = "none" } }
    local a = map.actions(d, cur, { skip_if_applied = true })
    assert.is_true(a.skip)
    assert.are.equal("changed_by_you", a.skip_reason)
    assert.is_true(a.record_changed) -- the host clears its record and the verdict it showed
    assert.are.equal(map.marks_signature(d), a.declined_signature) -- and remembers the marks taken back
    -- the record cleared, the declined signature kept: the same decision is still not applied
    a = map.actions(d, { keywords = {}, declined_signature = map.signature(d) }, { skip_if_applied = true })
    assert.are.equal("changed_by_you", a.skip_reason)
    assert.is_nil(a.record_changed)
    -- a NEW decision is applied as usual on an unrated photo
    local d2 = decision { verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", stars = 0, keywords = { "AutoCull|Reject" } }
    a = map.actions(d2, cur, { skip_if_applied = true })
    assert.is_false(a.skip)
    assert.are.equal("rejected", a.pick)
    assert.is_true(a.record_changed)
    a = map.actions(d2, { keywords = {}, declined_signature = map.signature(d) }, {})
    assert.is_false(a.skip)
    -- overwriting the photographer's marks was asked for: the same decision is written again
    assert.is_false(map.actions(d, cur, { respect_user_ratings = false }).skip)
    -- same marks but the keyword removed: not "already applied", not "changed" either: written again
    cur = { applied_signature = map.signature(d), rating = 4, pick = "picked", label = "none", keywords = {},
            last_written = { rating = 4, pick = "picked", label = "none" } }
    assert.is_false(map.actions(d, cur, { skip_if_applied = true }).skip)
    -- a signature without a record of what was written is never taken as applied
    assert.is_false(map.actions(d, { applied_signature = map.signature(d) }, { skip_if_applied = true }).skip)
    assert.are.equal("taken back by you (AutoCull did not mark them again)", map.SKIP_TEXT.changed_by_you)
  end)

  it("a taken-back decision stays taken back when only its keywords change; other marks are applied", function()
    -- the photographer un-rejected; the daemon decides again: same verdict, pick, stars and label,
    -- but a new burst (even with burst keywords off) and a new face-count keyword
    local d = decision { verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", stars = 0,
                         keywords = { "AutoCull|Reject|Blurry", "AutoCull|Burst|b1" }, burstId = "b1" }
    local again = decision { verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", stars = 0,
                             keywords = { "AutoCull|Reject|Blurry", "AutoCull|Burst|b9", "AutoCull|Faces|2" },
                             burstId = "b9" }
    assert.are_not.equal(map.signature(d), map.signature(again))
    assert.are.equal(map.marks_signature(d), map.marks_signature(again))
    local undone = { applied_signature = map.signature(d), rating = nil, pick = "none", label = "none",
                     keywords = {}, last_written = { rating = 0, pick = "rejected", label = "none" } }
    for _, bk in ipairs { true, false } do
      local opts = { skip_if_applied = true, burst_keywords = bk }
      -- right after the un-reject (the record still names the old keywords)
      local a = map.actions(again, undone, opts)
      assert.are.equal("changed_by_you", a.skip_reason)
      assert.are.equal(map.marks_signature(d), a.declined_signature) -- only the marks are remembered
      -- later, from the remembered marks (or a full signature an earlier version stored)
      for _, declined in ipairs { a.declined_signature, map.signature(d) } do
        assert.are.equal("changed_by_you", map.actions(again, { keywords = {}, declined_signature = declined }, opts).skip_reason)
      end
      -- a different verdict is applied
      local keep = decision { keywords = { "AutoCull|Keep", "AutoCull|Burst|b9" }, burstId = "b9" }
      a = map.actions(keep, { keywords = {}, declined_signature = map.marks_signature(d) }, opts)
      assert.is_false(a.skip)
      assert.are.equal("picked", a.pick)
      -- other stars or another label are other marks too
      assert.is_false(map.actions(decision { verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", stars = 1 },
        { keywords = {}, declined_signature = map.marks_signature(d) }, opts).skip)
    end
    assert.are.equal(map.marks_signature(d), map.marks_of(map.signature(d)))
    assert.is_nil(map.marks_of(nil))
  end)

  it("after an Undo to the photographer's own stars: theirs, not already applied", function()
    local d = decision()
    local cur = { applied_signature = map.signature(d), rating = 2, pick = "none", label = "none",
                  keywords = {}, last_written = { rating = 4, pick = "picked", label = "none" } }
    assert.are.equal("user_rated", map.actions(d, cur, { skip_if_applied = true }).skip_reason)
  end)

  it("burst_keywords = false: no burst keyword, the burst as fields, old burst keywords removed", function()
    local d = decision { keywords = { "AutoCull|Keep", "AutoCull|Burst|b7" }, burstId = "b7", burstRank = 1,
                         burstSize = 5, burstBest = true }
    local cur = { keywords = { "AutoCull|Burst|b2", "Travel|Rome" } }
    local a = map.actions(d, cur, { burst_keywords = false })
    assert.are.same({ "AutoCull|Keep" }, a.keywords)
    assert.are.same({ "AutoCull|Burst|b2" }, a.remove_keywords)
    assert.are.same({ id = "b7", rank = 1, size = 5, best = true }, a.burst)
    -- keywords not written at all: the old burst keyword still goes, nothing else is touched
    a = map.actions(d, { keywords = { "AutoCull|Burst|b2", "AutoCull|Keep" } },
                    { burst_keywords = false, write_keywords = false })
    assert.is_nil(a.keywords)
    assert.are.same({ "AutoCull|Burst|b2" }, a.remove_keywords)
  end)

  it("burst_keywords = false also drops bracket keywords: a bracket is a burst group with bracket = true", function()
    local d = decision { keywords = { "AutoCull|Keep", "AutoCull|Bracket|g3" }, burstId = "g3", burstRank = 2,
                         burstSize = 3, bracket = true }
    local a = map.actions(d, { keywords = { "AutoCull|Bracket|g1", "AutoCull|Burst|b2", "Travel|Bracket|x" } },
                          { burst_keywords = false })
    assert.are.same({ "AutoCull|Keep" }, a.keywords)
    assert.are.same({ "AutoCull|Bracket|g1", "AutoCull|Burst|b2" }, a.remove_keywords)
    assert.are.same({ id = "g3", rank = 2, size = 3, best = false }, a.burst) -- shown by the burst fields
    a = map.actions(d, { keywords = { "AutoCull|Bracket|g1", "AutoCull|Keep" } },
                    { burst_keywords = false, write_keywords = false })
    assert.are.same({ "AutoCull|Bracket|g1" }, a.remove_keywords)
    -- darktable keeps them (default)
    assert.are.same({ "AutoCull|Keep", "AutoCull|Bracket|g3" }, map.actions(d, {}, {}).keywords)
  end)

  it("keeps burst keywords by default (darktable)", function()
    local d = decision { keywords = { "AutoCull|Keep", "AutoCull|Burst|b7" }, burstId = "b7", burstRank = 2,
                         burstSize = 3 }
    local a = map.actions(d, {}, {})
    assert.are.same({ "AutoCull|Keep", "AutoCull|Burst|b7" }, a.keywords)
    assert.are.same({ id = "b7", rank = 2, size = 3, best = false }, a.burst)
    assert.are.same({ id = "", rank = 0, size = 0, best = false }, map.actions(decision(), {}, {}).burst)
  end)
end)

describe("decision_map.truncate_utf8", function()
  it("leaves short text alone", function()
    assert.are.equal("abc", map.truncate_utf8("abc", 511))
  end)

  it("cuts to the byte limit with an ellipsis, never inside a character", function()
    local s = string.rep("\195\169", 300) -- 'é' x 300 = 600 bytes
    local t = map.truncate_utf8(s, 511)
    assert.is_true(#t <= 511)
    assert.are.equal("\226\128\166", t:sub(-3))
    local body = t:sub(1, -4)
    assert.are.equal(0, #body % 2) -- whole two-byte characters only
    assert.are.equal(string.rep("\195\169", #body / 2), body)
    -- a four-byte character straddling the limit is dropped whole
    local emoji = string.rep("a", 506) .. "\240\159\152\128" .. "zz"
    t = map.truncate_utf8(emoji, 511)
    assert.are.equal(string.rep("a", 506) .. "\226\128\166", t)
  end)
end)

describe("decision_map.is_user_rated", function()
  it("treats no stars, no flag, no label as unrated", function()
    assert.is_false(map.is_user_rated({}, {}))
    assert.is_false(map.is_user_rated({ rating = 0, pick = "none", label = "none" }, {}))
    assert.is_false(map.is_user_rated(nil, {}))
  end)

  it("treats darktable's default import rating as unrated", function()
    assert.is_true(map.is_user_rated({ rating = 1 }, {}))
    assert.is_false(map.is_user_rated({ rating = 1 }, { unrated_rating = 1 }))
    assert.is_true(map.is_user_rated({ rating = 2 }, { unrated_rating = 1 }))
  end)

  it("treats what AutoCull itself wrote as unrated", function()
    local written = { rating = 4, pick = "picked", label = "none" }
    assert.is_false(map.is_user_rated({ rating = 4, pick = "picked", label = "none", last_written = written }, {}))
    assert.is_true(map.is_user_rated({ rating = 5, pick = "picked", label = "none", last_written = written }, {}))
    assert.is_false(map.is_user_rated({ rating = 5, autocull_wrote = true }, {}))
  end)
end)

describe("decision_map keywords", function()
  it("splits and joins '|' paths", function()
    assert.are.same({ "AutoCull", "Reject", "Blurry" }, map.split_keyword("AutoCull|Reject|Blurry"))
    assert.are.same({}, map.split_keyword(""))
    assert.are.same({}, map.split_keyword(nil))
    assert.are.equal("a|b", map.join_keyword { "a", "b" })
  end)

  it("normalizes under a custom root", function()
    assert.are.equal("Cull|Keep", map.normalize_keyword("Keep", "Cull"))
    assert.is_nil(map.normalize_keyword("AutoCull"))
    assert.is_true(map.is_own_keyword("AutoCull|x"))
    assert.is_false(map.is_own_keyword("AutoCullX|x"))
  end)
end)

describe("decision_map state and feedback", function()
  it("round-trips the bookkeeping state string", function()
    local s = { rating = 3, pick = "rejected", label = "red" }
    assert.are.same(s, map.parse_state(map.state_string(s)))
    assert.is_nil(map.parse_state("garbage"))
    assert.is_nil(map.parse_state(nil))
  end)

  it("computes the state after actions", function()
    local after = map.after_state({ rating = nil, pick = "none" }, { rating = 2, pick = "picked" })
    assert.are.same({ rating = 2, pick = "picked", label = "none" }, after)
    assert.are.same({ rating = 0, pick = "none", label = "none" }, map.after_state({}, { skip = true, rating = 5 }))
  end)

  it("builds feedback items with enum names", function()
    assert.are.same({ path = "/p.jpg", rating = 5, pick = "PICK_PICKED", colorLabel = "COLOR_LABEL_GREEN" },
                    map.feedback_item("/p.jpg", { rating = 5, pick = "picked", label = "green" }))
    assert.are.same({ path = "/q.jpg", rating = 0, pick = "PICK_REJECTED", colorLabel = "COLOR_LABEL_NONE" },
                    map.feedback_item("/q.jpg", { pick = map.pick_from_status(-1) }))
  end)

  it("gives the same signature to the same decision only", function()
    assert.are.equal(map.signature(decision()), map.signature(decision { reasons = { "other" } }))
    assert.are_not.equal(map.signature(decision()), map.signature(decision { stars = 3 }))
  end)
end)

describe("decision_map summary", function()
  it("counts picks, rejects, review, bursts, skips and failures with reasons", function()
    local s = map.new_summary()
    local function add(d, cur, opts) local a = map.actions(d, cur or {}, opts or {}); map.count(s, d, a) end
    add(decision { burstId = "b1" })
    add(decision { path = "/b.jpg", burstId = "b1", verdict = "VERDICT_REVIEW", pick = "PICK_NONE" })
    add(decision { path = "/c.jpg", verdict = "VERDICT_REJECT", pick = "PICK_REJECTED", burstId = "b2" })
    add(decision { path = "/d.jpg" }, { rating = 5 })
    add(decision { path = "/e.jpg", verdict = 0, error = { code = "CORRUPT", message = "cannot decode" } })
    map.count_skip(s, "/f.jpg", "virtual_copy")
    assert.are.equal(6, s.total)
    assert.are.equal(1, s.picked)
    assert.are.equal(1, s.rejected)
    assert.are.equal(1, s.review)
    assert.are.equal(2, s.bursts)
    assert.are.equal(2, s.skipped)
    assert.are.equal(1, s.skipped_by_reason.user_rated)
    assert.are.equal(1, s.skipped_by_reason.virtual_copy)
    assert.are.equal(1, s.failed)
    assert.are.same({ path = "/e.jpg", reason = "cannot decode", code = "CORRUPT" }, s.failures[1])
    local lines = map.summary_lines(s)
    assert.are.equal("1 picked, 1 rejected, 1 to review, 2 bursts", lines[1])
    assert.are.equal("2 skipped: 1 already rated, flagged or labelled by you, 1 virtual copy", lines[2])
    assert.are.equal("1 failed:", lines[3])
    assert.are.equal("  /e.jpg: cannot decode", lines[4])
  end)
end)
