// AutoCull review page. Every piece of data reaches the DOM through textContent or setAttribute, never as markup,
// so a file name or a reason holding HTML shows as text.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("autocull-data").textContent);
  var photos = data.photos;
  var EYE_TEXT = { open: "eyes open", closed: "eyes closed", uncertain: "eyes uncertain" };
  var LABEL_COLOURS = { red: "#e5484d", yellow: "#f5d90a", green: "#46a758", blue: "#0091ff", purple: "#8e4ec6" };
  var state = { filter: "all", stars: 0, sort: "quality", selected: -1 };
  // Windowing: a 5,000-photo page costs the browser in proportion to the tiles in its DOM (layout, style, paint on
  // every scrolled frame), so only the sections near the viewport hold tiles. The filtered, sorted list is cut
  // into sections of about SECTION tiles (a burst is never cut unless it alone is larger); an empty section keeps
  // the height it was measured at, or one estimated from its count and the grid's columns (tiles are fixed-size),
  // so the scroll bar is right before anything is rendered.
  var SECTION = 120, MARGIN = "150% 0px";
  var tiles = {};      // photo index -> its tile, only while its section is rendered
  var groups = [];     // {key, photos: [index...]} in burst order (best first)
  var order = [];      // photo indices in display order (sorted, all)
  var shownList = [];  // photo indices passing the filters, in display order: keyboard navigation walks this
  var sections = [];   // {parts: [{g, photos}], el, rendered, height}
  var sectionOf = {};  // photo index -> its section's position in sections
  var observer = null, metrics = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag) { return document.createElementNS("http://www.w3.org/2000/svg", tag); }
  function pct(v) { return (v * 100).toFixed(3) + "%"; }
  function starText(n) { return n > 0 ? "\u2605".repeat(n) : ""; }
  function score(p, key) { var s = p.scores[key]; return s === undefined ? null : s; }
  var hasPreference = photos.some(function (p) { return score(p, "preference") !== null; });

  // ---------------------------------------------------------------- overlays --
  // Drawn in % of the upright frame (the Decision's normalised boxes), so they fit a tile and the lightbox alike.
  function overlays(frame, p) {
    if (p.subject) {
      var s = el("div", "ov ov-subject");
      s.setAttribute("data-source", p.subject.source || "");
      s.title = "subject (" + (p.subject.source || "?") + ")";
      place(s, p.subject);
      frame.appendChild(s);
    }
    p.faces.forEach(function (f) {
      var d = el("div", "ov ov-face eye-" + (f.eye || "unknown"));
      place(d, f);
      var label = el("span", "eye-label" + (f.y < 0.08 ? " below" : ""), EYE_TEXT[f.eye] || "face");
      if (f.note) label.title = f.note;
      d.appendChild(label);
      frame.appendChild(d);
    });
    if (p.streak && p.w && p.h) {
      // a line through the subject's centre (else the frame's) at the streak angle, counter-clockwise as displayed
      var c = p.subject ? { x: p.subject.x + p.subject.w / 2, y: p.subject.y + p.subject.h / 2 } : { x: 0.5, y: 0.5 };
      var cx = c.x * p.w, cy = c.y * p.h;
      var half = Math.max(p.streak.length, 0.08) * Math.max(p.w, p.h) / 2;
      var a = p.streak.angle * Math.PI / 180;
      var dx = Math.cos(a) * half, dy = -Math.sin(a) * half;
      var g = svg("svg");
      g.setAttribute("class", "ov ov-streak");
      g.setAttribute("viewBox", "0 0 " + p.w + " " + p.h);
      g.setAttribute("preserveAspectRatio", "none");
      g.setAttribute("data-angle", String(p.streak.angle));
      var line = svg("line");
      line.setAttribute("x1", String(cx - dx)); line.setAttribute("y1", String(cy - dy));
      line.setAttribute("x2", String(cx + dx)); line.setAttribute("y2", String(cy + dy));
      var t = svg("title"); t.textContent = p.streak.kind + " blur at " + Math.round(p.streak.angle) + "\u00b0";
      g.appendChild(t); g.appendChild(line);
      frame.appendChild(g);
    }
  }
  function place(e, b) {
    e.style.left = pct(b.x); e.style.top = pct(b.y); e.style.width = pct(b.w); e.style.height = pct(b.h);
  }

  // A frame of the photo's aspect fitted in a box: the image fills it, so overlays in % land where they belong.
  function frameFor(p, boxW, boxH, src, fallback) {
    var w = p.w || 1, h = p.h || 1;
    var scale = Math.min(boxW / w, boxH / h);
    var fw = Math.max(1, Math.round(w * scale)), fh = Math.max(1, Math.round(h * scale));
    var frame = el("div", "frame");
    frame.style.width = fw + "px"; frame.style.height = fh + "px";
    var img = el("img");
    img.setAttribute("width", String(fw)); img.setAttribute("height", String(fh));
    img.setAttribute("alt", p.name);
    if (fallback) img.addEventListener("error", function onerr() {
      img.removeEventListener("error", onerr); img.setAttribute("src", fallback);
    });
    img.setAttribute("src", src);
    frame.appendChild(img);
    overlays(frame, p);
    return { frame: frame, img: img };
  }

  // ------------------------------------------------------------------- tiles --
  function tipText(p) {
    var lines = [p.name, p.verdict.toUpperCase() + (p.stars ? " " + starText(p.stars) : "")];
    if (p.error) lines.push(p.error.code + ": " + p.error.message);
    return lines.concat(p.reasons).concat(p.thumbError ? [p.thumbError] : []).join("\n");
  }
  function placeholderText(p) { return p.thumbError || (p.error ? p.error.message || p.error.code : "no thumbnail"); }
  function makeTile(i) {
    var p = photos[i];
    var t = el("div", "tile v-" + p.verdict);
    t.setAttribute("data-i", String(i));
    t.setAttribute("data-verdict", p.verdict);
    t.setAttribute("data-name", p.name);
    t.setAttribute("title", tipText(p));
    t.tabIndex = -1;
    var cell = el("div", "cell");
    if (p.thumb) {
      // no loading="lazy": the section is the lazy unit, and lazy images cost the browser on every scrolled frame
      var f = frameFor(p, 200, 200, p.thumb, null);
      f.img.setAttribute("decoding", "async");
      cell.appendChild(f.frame);
    } else {
      cell.appendChild(el("div", "placeholder", placeholderText(p)));
    }
    t.appendChild(cell);
    var cap = el("div", "caption");
    cap.appendChild(el("span", "verdict", p.verdict));
    if (p.stars) cap.appendChild(el("span", "stars", starText(p.stars)));
    if (p.pick) cap.appendChild(el("span", "flag " + p.pick, p.pick === "picked" ? "\u2691 pick" : "\u2715 reject"));
    if (p.burstBest && p.burstSize > 1) cap.appendChild(el("span", "best", "best"));
    if (p.label) {
      var dot = el("span", "label-dot");
      dot.style.background = LABEL_COLOURS[p.label] || "#fff";
      dot.title = p.label + " label";
      cap.appendChild(dot);
    }
    t.appendChild(cap);
    t.appendChild(el("div", "caption")).appendChild(el("span", "name", p.name));
    if (i === state.selected) t.classList.add("selected");
    t.addEventListener("click", function () { select(i, false); });
    t.addEventListener("dblclick", function () { select(i, false); openLightbox(); });
    return t;
  }

  // ------------------------------------------------------------------ groups --
  function buildGroups() {
    var byKey = {};
    photos.forEach(function (p, i) {
      var key = p.burst ? "b:" + p.burst : "p:" + i;
      if (!byKey[key]) { byKey[key] = { key: key, photos: [] }; groups.push(byKey[key]); }
      byKey[key].photos.push(i);
    });
    groups.forEach(function (g) {
      g.photos.sort(function (a, b) { return (photos[a].burstRank || 99) - (photos[b].burstRank || 99) || a - b; });
    });
  }
  function groupValue(g, how) {
    var p = photos[g.photos[0]];
    if (how === "time") return p.time || "\uffff" + p.path;
    if (how === "preference") { var s = score(p, "preference"); return s === null ? 1 : -s; }
    return p.error ? 1 : -p.quality;
  }
  function sortGroups() {
    var how = state.sort;
    groups.sort(function (a, b) {
      var x = groupValue(a, how), y = groupValue(b, how);
      return x < y ? -1 : x > y ? 1 : a.photos[0] - b.photos[0];
    });
    order = [];
    groups.forEach(function (g) { Array.prototype.push.apply(order, g.photos); });
  }

  // ----------------------------------------------------------------- filters --
  function passes(p) {
    if (state.stars && p.stars < state.stars) return false;
    switch (state.filter) {
      case "keep": case "review": case "reject": case "failed": return p.verdict === state.filter;
      case "best": return !p.error && (p.burstSize > 1 ? p.burstBest : true);
      default: return true;
    }
  }
  function applyFilter() {
    shownList = order.filter(function (i) { return passes(photos[i]); });
    document.getElementById("shown").textContent = shownList.length + " of " + photos.length + " shown";
    document.querySelectorAll("#filters button").forEach(function (b) {
      b.classList.toggle("on", b.getAttribute("data-filter") === state.filter);
    });
    document.querySelectorAll("#stars-filter button").forEach(function (b) {
      b.classList.toggle("on", Number(b.getAttribute("data-stars")) === state.stars);
    });
    rewindow();
    if (state.selected >= 0 && sectionOf[state.selected] === undefined) {
      select(shownList.length ? shownList[0] : -1, true);
    }
  }
  function visible() { return shownList; }

  // --------------------------------------------------------------- windowing --
  // The filtered groups cut into sections: whole groups until a section holds SECTION tiles; a group larger than
  // two sections is cut into pieces of SECTION (its heading says it goes on).
  function cut() {
    var out = [], cur = null;
    function close() { if (cur && cur.count) out.push(cur); cur = { parts: [], count: 0 }; }
    close();
    groups.forEach(function (g) {
      var shown = g.photos.filter(function (i) { return passes(photos[i]); });
      if (!shown.length) return;
      if (shown.length <= 2 * SECTION) {
        if (cur.count && cur.count + shown.length > SECTION) close();
        cur.parts.push({ g: g, photos: shown, more: false });
        cur.count += shown.length;
        return;
      }
      for (var k = 0; k < shown.length; k += SECTION) {
        close();
        cur.parts.push({ g: g, photos: shown.slice(k, k + SECTION), more: k > 0 });
        cur.count = cur.parts[0].photos.length;
      }
      close();
    });
    close();
    return out;
  }
  function measure() {
    // one probe burst of one tile, and a lone tile, laid out in the grid: the sizes every estimate uses
    var grid = document.getElementById("grid"), probe = el("div", "win");
    probe.style.visibility = "hidden";
    var multi = el("section", "burst multi");
    multi.appendChild(el("h2", null, "Burst"));
    multi.appendChild(el("div", "tiles")).appendChild(makeTile(0));
    var lone = el("section", "burst");
    lone.appendChild(el("div", "tiles")).appendChild(makeTile(0));
    probe.appendChild(multi); probe.appendChild(lone);
    grid.appendChild(probe);
    var cs = getComputedStyle(probe), tile = lone.getBoundingClientRect(), m = multi.getBoundingClientRect();
    var gap = parseFloat(cs.columnGap) || 0, rowGap = parseFloat(cs.rowGap) || 0;
    metrics = {
      width: probe.clientWidth, gap: gap, rowGap: rowGap, tileW: tile.width, tileH: tile.height,
      extraW: m.width - tile.width, extraH: m.height - tile.height, after: parseFloat(cs.marginBottom) || 0,
      innerGap: parseFloat(getComputedStyle(multi.querySelector(".tiles")).rowGap) || gap
    };
    grid.removeChild(probe);
  }
  function estimate(s) {
    // the flex-wrap layout of its groups, line by line: a lone frame is one tile; a burst a box of rows of tiles
    var m = metrics, x = 0, lineH = 0, y = 0;
    s.parts.forEach(function (part) {
      var w, h, n = part.photos.length;
      if (part.g.photos.length > 1) {
        var cols = Math.max(1, Math.floor((m.width - m.extraW + m.innerGap) / (m.tileW + m.innerGap)));
        var per = Math.min(n, cols), rows = Math.ceil(n / cols);
        w = per * (m.tileW + m.innerGap) - m.innerGap + m.extraW;
        h = rows * (m.tileH + m.innerGap) - m.innerGap + m.extraH;
      } else { w = m.tileW; h = m.tileH; }
      if (x > 0 && x + w > m.width + 0.5) { y += lineH + m.rowGap; x = 0; lineH = 0; }
      x += w + m.gap; lineH = Math.max(lineH, h);
    });
    return y + lineH;
  }
  function fill(s) {
    if (s.rendered) return;
    s.rendered = true;
    var frag = document.createDocumentFragment();
    s.parts.forEach(function (part) {
      var g = part.g, multi = g.photos.length > 1, box = el("section", "burst" + (multi ? " multi" : ""));
      if (multi) {
        var lead = photos[g.photos[0]];
        box.appendChild(el("h2", null, (lead.bracket ? "Bracket" : "Burst") + " of " + g.photos.length +
          (part.more ? " \u00b7 continued" : " \u00b7 best first")));
      }
      var row = el("div", "tiles");
      part.photos.forEach(function (i) { tiles[i] = makeTile(i); row.appendChild(tiles[i]); });
      box.appendChild(row);
      frag.appendChild(box);
    });
    s.el.appendChild(frag);
    s.el.style.height = "";
  }
  function empty(s, height) {
    if (!s.rendered) return;
    s.rendered = false;
    s.height = height;
    s.el.style.height = height + "px";
    s.parts.forEach(function (part) { part.photos.forEach(function (i) { delete tiles[i]; }); });
    s.el.replaceChildren();
  }
  function onSections(entries) {
    var leaving = [];
    entries.forEach(function (e) {
      var s = sections[Number(e.target.getAttribute("data-section"))];
      if (!s || s.el !== e.target) return;  // a section of an earlier window
      if (e.isIntersecting) fill(s);
      else if (s.rendered) leaving.push([s, e.boundingClientRect.height]);
    });
    leaving.forEach(function (x) { empty(x[0], x[1]); });
  }
  function rewindow() {
    var grid = document.getElementById("grid");
    if (observer) observer.disconnect();
    if (!metrics && photos.length) measure();
    tiles = {}; sectionOf = {};
    sections = cut();
    var frag = document.createDocumentFragment();
    sections.forEach(function (s, k) {
      s.el = el("div", "win");
      s.el.setAttribute("data-section", String(k));
      s.rendered = false;
      s.el.style.height = estimate(s) + "px";
      s.parts.forEach(function (part) { part.photos.forEach(function (i) { sectionOf[i] = k; }); });
      frag.appendChild(s.el);
    });
    grid.replaceChildren(frag);
    // the sections on screen now are rendered before the script says it is ready; the observer does the rest
    var bottom = window.innerHeight * 2.5;
    for (var k = 0; k < sections.length; k++) {
      var r = sections[k].el.getBoundingClientRect();
      if (r.top > bottom) break;
      if (r.bottom > -window.innerHeight * 1.5) fill(sections[k]);
    }
    observer = new IntersectionObserver(onSections, { rootMargin: MARGIN });
    sections.forEach(function (s) { observer.observe(s.el); });
  }
  function sweep() {
    // sections rendered out of the observer's sight (a jump by keyboard) are emptied once far off screen again
    var far = window.innerHeight * 3, leaving = [];
    sections.forEach(function (s) {
      if (!s.rendered) return;
      var r = s.el.getBoundingClientRect();
      if (r.bottom < -far || r.top > window.innerHeight + far) leaving.push([s, r.height]);
    });
    leaving.forEach(function (x) { empty(x[0], x[1]); });
  }
  function onResize() {
    // the columns changed: empty sections take a new estimate (their measured height was for the old width)
    metrics = null; measure();
    sections.forEach(function (s) { if (!s.rendered) s.el.style.height = estimate(s) + "px"; });
  }
  function tileOf(i) {
    // the tile of a shown photo, its section rendered first if it was empty
    var k = sectionOf[i];
    if (k === undefined) return null;
    fill(sections[k]);
    return tiles[i];
  }

  // --------------------------------------------------------------- selection --
  function select(i, scroll) {
    if (state.selected >= 0 && tiles[state.selected]) tiles[state.selected].classList.remove("selected");
    state.selected = i;
    var panel = document.getElementById("detail");
    if (i < 0) { panel.hidden = true; return; }
    var t = tileOf(i);
    if (t) {
      t.classList.add("selected");
      if (scroll) { t.scrollIntoView({ block: "nearest" }); requestAnimationFrame(sweep); }
    }
    showDetail(photos[i]);
    if (!document.getElementById("lightbox").hidden) openLightbox();
  }
  function showDetail(p) {
    var panel = document.getElementById("detail");
    panel.replaceChildren();
    panel.appendChild(el("h3", null, p.name));
    var line = p.verdict.toUpperCase() + (p.stars ? "  " + starText(p.stars) : "") + (p.pick ? "  " + p.pick : "");
    panel.appendChild(el("div", "v-" + p.verdict)).appendChild(el("span", "verdict", line));
    if (p.burstSize > 1) panel.appendChild(el("div", null, (p.bracket ? "bracket" : "burst") + " frame " + p.burstRank + " of " + p.burstSize));
    if (p.time) panel.appendChild(el("div", null, p.time + (p.camera ? " \u00b7 " + p.camera : "")));
    if (p.error) panel.appendChild(el("div", "error", p.error.code + ": " + p.error.message));
    var ul = el("ul", "reasons");
    p.reasons.forEach(function (r) { ul.appendChild(el("li", null, r)); });
    panel.appendChild(ul);
    if (p.thumbError) panel.appendChild(el("div", "error", p.thumbError));
    var keys = Object.keys(p.scores);
    if (keys.length) {
      var table = el("table");
      keys.forEach(function (k) {
        var tr = el("tr"); tr.appendChild(el("td", null, k)); tr.appendChild(el("td", null, p.scores[k].toFixed(2)));
        table.appendChild(tr);
      });
      panel.appendChild(table);
    }
    panel.appendChild(el("div", "path", p.path));
    panel.hidden = false;
  }
  function move(step) {
    var vis = visible();
    if (!vis.length) return;
    var at = vis.indexOf(state.selected);
    if (at < 0) { select(vis[0], true); return; }
    var next = Math.max(0, Math.min(vis.length - 1, at + step));
    select(vis[next], true);
  }
  function moveTo(end) {
    var vis = visible();
    if (vis.length) select(end ? vis[vis.length - 1] : vis[0], true);
  }
  function moveRow(down) {
    // the nearest tile in the next row above or below, by position on screen (bursts make rows uneven); the
    // neighbouring section is rendered first, so the row may lie across a section's edge
    var vis = visible(), at = vis.indexOf(state.selected);
    if (at < 0) { move(0); return; }
    var k0 = sectionOf[vis[at]];
    if (sections[k0 + (down ? 1 : -1)]) fill(sections[k0 + (down ? 1 : -1)]);
    // rows by vertical overlap: a burst's tiles sit lower in their line (under its heading) than lone frames
    var cur = tileOf(vis[at]).getBoundingClientRect(), best = -1, row = null, bestDx = Infinity;
    var mid = cur.left + cur.width / 2;
    for (var k = at + (down ? 1 : -1), seen = 0; k >= 0 && k < vis.length && seen < 400; k += down ? 1 : -1, seen++) {
      var t = tiles[vis[k]];
      if (!t) break;
      var r = t.getBoundingClientRect();
      if (down ? r.top < cur.bottom - 2 : r.bottom > cur.top + 2) continue;  // the same line
      if (row === null) row = r;
      else if (down ? r.top >= row.bottom - 2 : r.bottom <= row.top + 2) break;  // past the next line
      var dx = Math.abs(r.left + r.width / 2 - mid);
      if (dx < bestDx) { bestDx = dx; best = vis[k]; }
    }
    if (best >= 0) select(best, true);
  }

  // ---------------------------------------------------------------- lightbox --
  function openLightbox() {
    var i = state.selected;
    if (i < 0) return;
    var p = photos[i], box = document.getElementById("lightbox"), holder = document.getElementById("lb-frame");
    holder.replaceChildren();
    var bw = window.innerWidth * 0.94, bh = window.innerHeight * 0.86;
    // the original when the browser shows its format, else the thumbnail; a photo that failed is never opened
    // (its bytes are what failed: the browser would draw a broken image), it shows its reason
    var src = !p.error && p.showable && p.url ? p.url : p.thumb;
    function reason(text) {
      var ph = el("div", "placeholder lb-placeholder", text);
      ph.id = "lb-placeholder";
      holder.replaceChildren(ph);
    }
    if (src) {
      var fallback = p.thumb && src !== p.thumb ? p.thumb : null;
      var f = frameFor(p, bw, bh, src, fallback);
      f.img.id = "lb-img";
      if (!fallback) f.img.addEventListener("error", function () { reason(p.name + ": the browser cannot show this file"); });
      holder.appendChild(f.frame);
    } else {
      reason(p.error ? p.error.code + ": " + p.error.message : placeholderText(p));
    }
    document.getElementById("lb-caption").textContent = p.name + " \u2014 " + p.verdict + (p.stars ? " " + starText(p.stars) : "");
    box.hidden = false;
  }
  function closeLightbox() { document.getElementById("lightbox").hidden = true; }

  // ----------------------------------------------------------------- summary --
  function summary() {
    var s = document.getElementById("summary"), counts = { keep: 0, review: 0, reject: 0, failed: 0 }, bursts = {};
    photos.forEach(function (p) {
      counts[p.verdict] = (counts[p.verdict] || 0) + 1;
      if (p.burst && p.burstSize > 1) bursts[p.burst] = true;
    });
    function count(label, n, cls) {
      var c = el("span", "count " + (cls || ""));
      c.appendChild(el("b", null, n)); c.appendChild(document.createTextNode(" " + label));
      c.setAttribute("data-count", label);
      s.appendChild(c);
    }
    count("photos", photos.length);
    count("keep", counts.keep, "v-keep"); count("review", counts.review, "v-review");
    count("reject", counts.reject, "v-reject"); count("failed", counts.failed, "v-failed");
    count("bursts", Object.keys(bursts).length);
    var failed = photos.filter(function (p) { return p.error; });
    if (failed.length) {
      var d = el("details", "failures"), ul = el("ul");
      d.appendChild(el("summary", null, failed.length + " failed: why"));
      failed.forEach(function (p) { ul.appendChild(el("li", null, p.name + " \u2014 " + p.error.code + ": " + p.error.message)); });
      d.appendChild(ul);
      s.appendChild(d);
    }
  }

  // ---------------------------------------------------------------- controls --
  function setOverlay(name, on) {
    document.body.classList.toggle("show-" + name, on);
    var b = document.querySelector('#overlays button[data-overlay="' + name + '"]');
    if (b) b.classList.toggle("on", on);
  }
  function toggleOverlay(name) { setOverlay(name, !document.body.classList.contains("show-" + name)); }
  function controls() {
    document.querySelectorAll("#filters button").forEach(function (b) {
      b.addEventListener("click", function () { state.filter = b.getAttribute("data-filter"); applyFilter(); });
    });
    document.querySelectorAll("#overlays button").forEach(function (b) {
      b.addEventListener("click", function () { toggleOverlay(b.getAttribute("data-overlay")); });
    });
    var sort = document.getElementById("sort");
    if (hasPreference) {
      var o = el("option", null, "by preference"); o.value = "preference"; sort.appendChild(o);
    }
    sort.addEventListener("change", function () { state.sort = sort.value; sortGroups(); applyFilter(); });
    var sf = document.getElementById("stars-filter");
    for (var n = 0; n <= 5; n++) {
      var b = el("button", null, n ? n + "\u2605+" : "any \u2605");
      b.type = "button"; b.setAttribute("data-stars", String(n));
      b.addEventListener("click", (function (k) { return function () { state.stars = k; applyFilter(); }; })(n));
      sf.appendChild(b);
    }
    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey || e.target.tagName === "SELECT") return;
      var k = e.key;
      if (k === "ArrowRight") move(1);
      else if (k === "ArrowLeft") move(-1);
      else if (k === "ArrowDown") moveRow(true);
      else if (k === "ArrowUp") moveRow(false);
      else if (k === "Home") moveTo(false);
      else if (k === "End") moveTo(true);
      else if (k === " ") { if (document.getElementById("lightbox").hidden) openLightbox(); else closeLightbox(); }
      else if (k === "Escape") closeLightbox();
      else if (k >= "0" && k <= "5" && k.length === 1) { state.stars = Number(k); applyFilter(); }
      else if (k === "b" || k === "B") toggleOverlay("subject");
      else if (k === "f" || k === "F") toggleOverlay("faces");
      else if (k === "m" || k === "M") toggleOverlay("streak");
      else return;
      e.preventDefault();
    });
    document.getElementById("lightbox").addEventListener("click", closeLightbox);
    var resizing = 0;
    window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(onResize, 150); underTheBar(); });
  }

  function underTheBar() {
    // a tile scrolled into view stops below the sticky header, not under it
    document.documentElement.style.scrollPaddingTop = Math.ceil(document.getElementById("bar").getBoundingClientRect().height) + "px";
  }
  summary();
  buildGroups();
  controls();
  sortGroups();
  applyFilter();
  underTheBar();
  document.body.setAttribute("data-ready", "1");
})();
