"""The review page draws each photo's overlays where its decision says, in a real browser (headless chromium).

A small real shoot: a frame blurred by motion (camera/blurred/rbh-027, labels.json: motion; its decision carries a
streak), a sharp landscape (no streak, a subject box from saliency or the centre), an open-eye and a closed-eye
face (a subject box from the face). The checks read what is drawn, not data attributes: the streak line's two ends
in screen pixels (through the SVG's screen matrix) must climb at the decision's angle as displayed (0 = horizontal,
counter-clockwise, y up), and the subject and face boxes' rendered rectangles must sit at the decision's normalised
boxes over the rendered image, within 2 px. The same in the lightbox, over the full-size photo.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from browser import artifacts_dir, chromium, open_page
from clirun import run_cli
from realphotos import TESTDATA, camera_labels, copy_photos

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

SHAKEN = "camera/blurred/rbh-027.jpg"
SHARP = "camera/sharp/rbh-054.jpg"
OPEN = "faces/open/" + sorted(p.name for p in (TESTDATA / "faces" / "open").glob("*.jpg"))[0]
CLOSED = "faces/closed/" + sorted(p.name for p in (TESTDATA / "faces" / "closed").glob("*.jpg"))[3]
EYE = {"EYE_STATE_OPEN": "eyes open", "EYE_STATE_CLOSED": "eyes closed", "EYE_STATE_UNCERTAIN": "eyes uncertain"}
PX = 2.0  # rounding of the frame to whole pixels and the browser's subpixel layout


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("overlays")
    folder = copy_photos(root / "shoot", [SHAKEN, SHARP, OPEN, CLOSED])
    home, out = root / "home", root / "out"
    run_cli(home, "report", str(folder), "-o", str(out))
    culled = json.loads(run_cli(home, "cull", "--json", str(folder)).stdout)["decisions"]
    return {"out": out, "decisions": {Path(d["path"]).name: d for d in culled}}


@pytest.fixture(scope="module")
def page(shoot: dict[str, Any]) -> Any:
    with chromium() as driver:
        open_page(driver, shoot["out"] / "index.html")
        yield driver


def name_of(rel: str) -> str:
    return Path(rel).name


def frame_css(name: str) -> str:
    return f'.tile[data-name="{name}"] .frame'


LB = "#lb-frame .frame"

# What is drawn inside one frame, in viewport pixels: the image's rect, each overlay's rect and whether it shows,
# the streak line's ends mapped through the SVG's screen matrix.
DRAWN = """
const frame = document.querySelector(arguments[0]);
if (!frame) return null;
frame.scrollIntoView({block: 'center'});
const rect = e => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; };
const shown = e => getComputedStyle(e).display !== 'none' && e.getBoundingClientRect().width > 0;
const img = frame.querySelector('img');
const out = {img: rect(img), subject: null, faces: [], streak: null};
const s = frame.querySelector('.ov-subject');
if (s) out.subject = {rect: rect(s), shown: shown(s), source: s.getAttribute('data-source')};
frame.querySelectorAll('.ov-face').forEach(f => out.faces.push(
  {rect: rect(f), shown: shown(f), label: f.querySelector('.eye-label').textContent}));
const g = frame.querySelector('.ov-streak');
if (g) {
  const line = g.querySelector('line'), m = line.getScreenCTM();
  const at = (x, y) => new DOMPoint(line[x].baseVal.value, line[y].baseVal.value).matrixTransform(m);
  const a = at('x1', 'y1'), b = at('x2', 'y2');
  out.streak = {shown: shown(g), a: {x: a.x, y: a.y}, b: {x: b.x, y: b.y}};
}
return out;
"""


def drawn(driver: Any, css: str) -> dict[str, Any]:
    got = driver.execute_script(DRAWN, css)
    assert got is not None, f"no frame at {css}"
    return got


def box_of(d: dict[str, Any], key: str = "subjectBox") -> tuple[float, float, float, float]:
    b = d[key]
    return b.get("x", 0.0), b.get("y", 0.0), b.get("w", 0.0), b.get("h", 0.0)


def assert_at(rect: dict[str, float], img: dict[str, float], box: tuple[float, float, float, float], what: str) -> None:
    """``rect`` (rendered) sits at the normalised ``box`` of the rendered image ``img``."""
    x, y, w, h = box
    want = {"x": img["x"] + x * img["w"], "y": img["y"] + y * img["h"], "w": w * img["w"], "h": h * img["h"]}
    for k in "xywh":
        assert abs(rect[k] - want[k]) <= PX, (what, k, rect, want)


def screen_angle(streak: dict[str, Any]) -> float:
    """The drawn line's angle as a photographer sees it: counter-clockwise from horizontal, y up, in [0, 180)."""
    a, b = streak["a"], streak["b"]
    return math.degrees(math.atan2(-(b["y"] - a["y"]), b["x"] - a["x"])) % 180


def angle_off(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


def set_overlay(driver: Any, name: str, on: bool) -> None:
    cls = driver.find_element("tag name", "body").get_attribute("class").split()
    if (f"show-{name}" in cls) != on:
        driver.find_element("css selector", f'#overlays button[data-overlay="{name}"]').click()


def press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def test_the_shoot_holds_what_the_overlays_need(shoot: dict[str, Any]) -> None:
    assert camera_labels()[name_of(SHAKEN)]["kind"] == "motion"
    decisions = shoot["decisions"]
    assert "streak" in decisions[name_of(SHAKEN)], decisions[name_of(SHAKEN)].get("reasons")
    assert "streak" not in decisions[name_of(SHARP)]
    assert decisions[name_of(OPEN)]["subjectSource"] == "faces" and decisions[name_of(OPEN)].get("faces")
    assert decisions[name_of(SHARP)]["subjectSource"] in ("saliency", "centre")
    assert all(d.get("width") and d.get("height") for d in decisions.values())


def test_the_streak_is_drawn_at_the_decisions_angle_and_toggled_by_its_button_and_key(
    shoot: dict[str, Any], page: Any
) -> None:
    d = shoot["decisions"][name_of(SHAKEN)]
    want = d["streak"].get("angle", 0.0)
    set_overlay(page, "streak", False)
    hidden = drawn(page, frame_css(name_of(SHAKEN)))
    assert hidden["streak"] is not None and not hidden["streak"]["shown"]

    set_overlay(page, "streak", True)
    on = drawn(page, frame_css(name_of(SHAKEN)))
    assert on["streak"]["shown"]
    assert angle_off(screen_angle(on["streak"]), want) < 1.5, (screen_angle(on["streak"]), want)
    # the line lies over the photo, and is long enough to see
    img = on["img"]
    for end in (on["streak"]["a"], on["streak"]["b"]):
        assert img["x"] - PX <= end["x"] <= img["x"] + img["w"] + PX, (end, img)
        assert img["y"] - PX <= end["y"] <= img["y"] + img["h"] + PX, (end, img)
    a, b = on["streak"]["a"], on["streak"]["b"]
    assert math.hypot(b["x"] - a["x"], b["y"] - a["y"]) >= 0.05 * max(img["w"], img["h"])

    press(page, "m")
    assert not drawn(page, frame_css(name_of(SHAKEN)))["streak"]["shown"]
    press(page, "M")
    assert drawn(page, frame_css(name_of(SHAKEN)))["streak"]["shown"]
    page.save_screenshot(str(artifacts_dir() / "report-overlays.png"))


def test_a_sharp_photo_has_no_streak(shoot: dict[str, Any], page: Any) -> None:
    set_overlay(page, "streak", True)
    assert drawn(page, frame_css(name_of(SHARP)))["streak"] is None
    assert drawn(page, frame_css(name_of(OPEN)))["streak"] is None


@pytest.mark.parametrize("rel", [OPEN, SHARP, SHAKEN], ids=["face", "landscape", "shaken"])
def test_the_subject_box_sits_at_the_decisions_box(shoot: dict[str, Any], page: Any, rel: str) -> None:
    d = shoot["decisions"][name_of(rel)]
    set_overlay(page, "subject", False)
    assert not drawn(page, frame_css(name_of(rel)))["subject"]["shown"]
    press(page, "b")
    got = drawn(page, frame_css(name_of(rel)))
    assert got["subject"]["shown"] and got["subject"]["source"] == d["subjectSource"]
    assert_at(got["subject"]["rect"], got["img"], box_of(d), name_of(rel))
    press(page, "B")
    assert not drawn(page, frame_css(name_of(rel)))["subject"]["shown"]


@pytest.mark.parametrize("rel", [OPEN, CLOSED], ids=["open", "closed"])
def test_each_face_is_boxed_where_it_was_found_with_its_eye_state(shoot: dict[str, Any], page: Any, rel: str) -> None:
    faces = shoot["decisions"][name_of(rel)].get("faces", [])
    assert faces, f"{rel}: the face detector found no face"
    set_overlay(page, "faces", True)
    got = drawn(page, frame_css(name_of(rel)))
    assert [f["label"] for f in got["faces"]] == [EYE[f["eyeState"]] for f in faces]
    for face, on_screen in zip(faces, got["faces"]):
        assert on_screen["shown"]
        assert_at(on_screen["rect"], got["img"], box_of(face, "box"), rel)
    assert EYE[faces[0]["eyeState"]] == ("eyes open" if rel == OPEN else "eyes closed")
    press(page, "f")
    assert not any(f["shown"] for f in drawn(page, frame_css(name_of(rel)))["faces"])
    press(page, "F")


def test_the_lightbox_shows_the_same_overlays_over_the_full_photo(shoot: dict[str, Any], page: Any) -> None:
    for name in ("subject", "faces", "streak"):
        set_overlay(page, name, True)
    for rel in (SHAKEN, OPEN, SHARP):
        d = shoot["decisions"][name_of(rel)]
        page.find_element("css selector", f'.tile[data-name="{name_of(rel)}"]').click()
        press(page, " ")
        assert page.find_element("id", "lightbox").is_displayed()
        for _ in range(50):  # the full-size original is shown, not the thumbnail
            if page.execute_script("const i = document.getElementById('lb-img'); return i.complete && i.naturalWidth"):
                break
            time.sleep(0.1)
        natural = page.execute_script(
            "const i = document.getElementById('lb-img'); return [i.naturalWidth, i.naturalHeight]"
        )
        assert natural == [d["width"], d["height"]], rel
        got = drawn(page, LB)
        assert got["img"]["w"] > 400 or got["img"]["h"] > 400, got["img"]  # enlarged, not the tile
        assert got["subject"]["shown"]
        assert_at(got["subject"]["rect"], got["img"], box_of(d), f"lightbox {rel}")
        faces = d.get("faces", [])
        assert [f["label"] for f in got["faces"]] == [EYE[f["eyeState"]] for f in faces]
        for face, on_screen in zip(faces, got["faces"]):
            assert_at(on_screen["rect"], got["img"], box_of(face, "box"), f"lightbox face {rel}")
        if "streak" in d:
            assert got["streak"]["shown"]
            assert angle_off(screen_angle(got["streak"]), d["streak"].get("angle", 0.0)) < 1.0
            page.save_screenshot(str(artifacts_dir() / "report-lightbox-streak.png"))
        else:
            assert got["streak"] is None
        press(page, " ")
        assert not page.find_element("id", "lightbox").is_displayed()
