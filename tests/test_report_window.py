"""A large review page keeps only the tiles near the viewport in its DOM (windowing), in a real browser.

A library of 1,500 stored photos is made cheaply, as bench/bench_report.py does: a few real photos are culled once,
then each photo of the library is a hard link of one of them, stored with its source's analysis and thumbnail (the
store and the thumbnail cache key on path, size and mtime, so the report reads no image). The real ``autocull
report`` builds the page. The checks compare what the browser shows with the order the page must show (the data
embedded in the page, grouped by burst best first, sorted by quality): far fewer tiles than photos in the DOM, never
one twice, every photo reached by scrolling in order, the last at the bottom, End / arrows select across sections,
and a filter applied half-way re-windows with the right count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from browser import chromium, open_page
from realphotos import TESTDATA
from test_report_page import page_photos

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

N = 1500
SOURCES = [
    "camera/sharp/rbh-054.jpg",
    "camera/blurred/rbh-027.jpg",
    "camera/blurred/rbh-009.jpg",
    "burst/scenario-1/scenario-1-a.jpg",
    "burst/scenario-1/scenario-1-b.jpg",
    "burst/scenario-2/scenario-2-a.jpg",
    "burst/scenario-3/scenario-3-a.jpg",
]


T0 = datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc).timestamp()


def shot(sources: list[str], analyses: dict[str, Any], i: int) -> tuple[str, Any]:
    """The source and stored analysis of the library's photo ``i``: in every ten, three frames of one source
    0.2 s apart (a burst of 3), then seven lone photos 9 s apart (a shoot, not thousands of copies in one burst)."""
    block, k = divmod(i, 10)
    src = sources[block % len(sources)] if k < 3 else sources[i % len(sources)]
    ts = T0 + block * 100 + (k * 0.2 if k < 3 else 10 + k * 9)
    a = analyses[src]
    when = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return src, replace(a, exif=replace(a.exif, capture_ts=ts, capture_time=when))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from autocull import ANALYZER_VERSION
    from autocull.engine import Engine
    from autocull.thumbs import ThumbCache

    root = tmp_path_factory.mktemp("window")
    home, library, out = root / "home", root / "library", root / "out"
    sources = [str(TESTDATA / rel) for rel in SOURCES]
    eng = Engine.open(home)
    try:
        eng.run(sources)
        analyses = dict(eng.store.analyses(sources))
        assert sorted(analyses) == sorted(sources)
        cache = ThumbCache(home)
        thumbs = {src: cache.get(src) for src in sources}
        assert all(thumbs.values()), "the cull keeps a thumbnail of each photo it analysed"
        for i in range(N):
            src, analysis = shot(sources, analyses, i)
            dest = library / f"{i // 250:02d}" / f"IMG_{i:05d}.jpg"
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dest)
            st = dest.stat()
            eng.store.put_analysis(str(dest), st.st_size, st.st_mtime_ns, ANALYZER_VERSION, analysis)
            cache.put(str(dest), st.st_size, st.st_mtime_ns, thumbs[src].read_bytes())  # type: ignore[union-attr]
    finally:
        eng.close()
    env = dict(os.environ, AUTOCULL_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-m", "autocull", "report", str(library), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert f"0 thumbnails made, {N} reused" in done.stdout, done.stdout
    return {"out": out, "photos": page_photos(out)}


def display_order(photos: dict[str, dict[str, Any]], keep: Any = lambda p: True, by: str = "quality") -> list[str]:
    """The names in the order the page shows them: bursts best frame first, groups by quality (failed last) or by
    time, ties in the order of the page's data; only those ``keep`` passes."""
    data = sorted(photos.values(), key=lambda p: p["n"])
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(data):
        groups.setdefault(f"b:{p['burst']}" if p["burst"] else f"p:{i}", []).append(i)
    ranked = [sorted(g, key=lambda i: (data[i]["burstRank"] or 99, i)) for g in groups.values()]
    if by == "time":
        ranked.sort(key=lambda g: (data[g[0]]["time"] or "\uffff" + data[g[0]]["path"], g[0]))
    else:
        ranked.sort(key=lambda g: (1 if data[g[0]]["error"] else -data[g[0]]["quality"], g[0]))
    return [data[i]["name"] for g in ranked for i in g if keep(data[i])]


# Scroll top to bottom a screen at a time, two frames after each step and then until a tile is on screen (the
# page fills a section when it comes near, through an IntersectionObserver called back a frame or more later):
# the tiles in the DOM at each step (by name, in document order). No clock: a page that never fills a screen
# keeps the script waiting until selenium's script timeout, a hang guard that scroll_through turns into a failure.
SCROLL_THROUGH = """
const done = arguments[arguments.length - 1], steps = [];
window.scrollTo(0, 0);
function tick() {
  const tiles = Array.from(document.querySelectorAll('.tile'));
  if (!tiles.some(t => { const r = t.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })) {
    requestAnimationFrame(tick);
    return;
  }
  steps.push({names: tiles.map(t => t.getAttribute('data-name')), y: scrollY});
  const before = scrollY;
  window.scrollBy(0, innerHeight);
  if (scrollY === before) done(steps);
  else requestAnimationFrame(() => requestAnimationFrame(tick));
}
requestAnimationFrame(() => requestAnimationFrame(tick));
"""

SELECTED = """
const t = document.querySelectorAll('.tile.selected');
if (t.length !== 1) return {count: t.length};
const r = t[0].getBoundingClientRect();
const bar = document.getElementById('bar').getBoundingClientRect().bottom;  // the sticky header covers the top
return {count: 1, name: t[0].getAttribute('data-name'), inView: r.top >= bar - 1 && r.bottom <= innerHeight + 1,
        top: r.top + scrollY, left: r.left, detail: document.querySelector('#detail h3').textContent};
"""


def key(driver: Any, name: str) -> dict[str, Any]:
    """Press a key the way the page listens to it (a keydown on the document); the selection afterwards."""
    driver.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: arguments[0]}))", name)
    return driver.execute_script(SELECTED)


def dom_names(driver: Any) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.tile')).map(t => t.getAttribute('data-name'))"
    )


def scroll_through(driver: Any, want: list[str]) -> None:
    """Scrolled through, the page showed exactly ``want`` in order, never a tile twice, a few sections at a time."""
    from selenium.common.exceptions import TimeoutException

    assert want, "nothing to scroll through"
    driver.set_script_timeout(300)
    try:
        steps = driver.execute_async_script(SCROLL_THROUGH)
    except TimeoutException:
        raise AssertionError("a screen of the page stayed empty while scrolling through") from None
    assert len(steps) > 5
    seen: list[str] = []
    for step in steps:
        names = step["names"]
        assert len(names) == len(set(names)), f"a tile shown twice at y={step['y']}"
        assert len(names) <= max(600, len(want) // 2), (len(names), len(want))
        # what is in the DOM is a run of the display order
        at = want.index(names[0])
        assert names == want[at : at + len(names)], f"out of order at y={step['y']}"
        seen += [n for n in names if n not in set(seen)]
    assert seen == want
    assert want[-1] in steps[-1]["names"]


@pytest.fixture(scope="module")
def page(big: dict[str, Any]) -> Any:
    with chromium(1280, 900) as driver:
        open_page(driver, big["out"] / "index.html", timeout=60)
        yield driver


def test_the_dom_holds_a_window_of_the_photos_and_scrolling_shows_each_once_in_order(big, page) -> None:
    photos = big["photos"]
    assert len(photos) == N
    assert page.find_element("id", "shown").text == f"{N} of {N} shown"
    first = dom_names(page)
    assert 0 < len(first) < N // 4, len(first)
    want = display_order(photos)
    assert first == want[: len(first)]
    scroll_through(page, want)
    # at the bottom: the last photo is on screen
    last = page.execute_script(
        "const t = document.querySelector('.tile[data-name=\"' + arguments[0] + '\"]');"
        "const r = t.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight",
        want[-1],
    )
    assert last


def test_end_home_and_arrows_select_across_sections(big, page) -> None:
    want = display_order(big["photos"])
    page.execute_script("window.scrollTo(0, 0)")
    end = key(page, "End")
    assert end["count"] == 1 and end["name"] == want[-1] and end["inView"] and end["detail"] == want[-1]
    assert key(page, "ArrowRight")["name"] == want[-1]
    assert key(page, "ArrowLeft")["name"] == want[-2]
    assert len(dom_names(page)) < N // 4
    home = key(page, "Home")
    assert home["name"] == want[0] and home["inView"], home
    # down row by row, far past the first sections: always the next row, on screen, never back in the order
    at, top = 0, home["top"]
    for _ in range(60):
        got = key(page, "ArrowDown")
        assert got["count"] == 1 and got["inView"], got
        nxt = want.index(got["name"])
        assert nxt > at and got["top"] > top + 100, (got, at, top)
        at, top = nxt, got["top"]
    assert at >= 240, at  # past the first section (two at most hold 240)
    names = dom_names(page)
    assert len(names) == len(set(names)) and len(names) < N // 4
    up = key(page, "ArrowUp")
    assert up["inView"] and want.index(up["name"]) < at and up["top"] < top


def test_a_filter_applied_half_way_re_windows_with_the_right_count(big, page) -> None:
    photos = big["photos"]
    page.execute_script("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    page.find_element("css selector", '#filters button[data-filter="review"]').click()
    review = display_order(photos, lambda p: p["verdict"] == "review")
    assert 0 < len(review) < N
    assert page.find_element("id", "shown").text == f"{len(review)} of {N} shown"
    names = dom_names(page)
    assert names and set(names) <= set(review) and len(names) == len(set(names))
    scroll_through(page, review)
    page.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: '4'}))")
    four = display_order(photos, lambda p: p["verdict"] == "review" and p["stars"] >= 4)
    assert page.find_element("id", "shown").text == f"{len(four)} of {N} shown"
    page.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: '0'}))")
    page.find_element("css selector", '#filters button[data-filter="all"]').click()
    assert page.find_element("id", "shown").text == f"{N} of {N} shown"
    scroll_through(page, display_order(photos))


def test_sorting_by_time_re_windows_in_time_order(big, page) -> None:
    from selenium.webdriver.support.ui import Select

    photos = big["photos"]
    by_time = display_order(photos, by="time")
    assert by_time != display_order(photos)
    page.execute_script("window.scrollTo(0, document.documentElement.scrollHeight / 3)")
    Select(page.find_element("id", "sort")).select_by_value("time")
    names = dom_names(page)
    assert names and len(names) < N // 4 and len(names) == len(set(names))
    scroll_through(page, by_time)
    Select(page.find_element("id", "sort")).select_by_value("quality")
