// AutoCull review page. Every piece of data reaches the DOM through textContent or setAttribute, never as markup,
// so a file name or a reason holding HTML shows as text.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("autocull-data").textContent);
  var photos = data.photos;
  var EYE_TEXT = { open: "eyes open", closed: "eyes closed", uncertain: "eyes uncertain" };
  var LABEL_COLOURS = { red: "#e5484d", yellow: "#f5d90a", green: "#46a758", blue: "#0091ff", purple: "#8e4ec6" };
  var state = { filter: "all", stars: 0, sort: "quality", selected: -1 };
  var tiles = [];      // by photo index
  var groups = [];     // {key, photos: [index...], el}
  var order = [];      // photo indices in display order (all, filtered later)

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
      var f = frameFor(p, 200, 200, p.thumb, null);
      f.img.setAttribute("loading", "lazy");
      f.img.setAttribute("decoding", "async");
      cell.appendChild(f.frame);
    } else {
      cell.appendChild(el("div", "placeholder", p.thumbError || (p.error ? p.error.message : "no thumbnail")));
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
      var lead = photos[g.photos[0]];
      g.el = el("section", "burst" + (g.photos.length > 1 ? " multi" : ""));
      if (g.photos.length > 1) {
        g.el.appendChild(el("h2", null, (lead.bracket ? "Bracket" : "Burst") + " of " + g.photos.length + " \u00b7 best first"));
      }
      var box = el("div", "tiles");
      g.photos.forEach(function (i) { tiles[i] = makeTile(i); box.appendChild(tiles[i]); });
      g.el.appendChild(box);
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
    var sorted = groups.slice().sort(function (a, b) {
      var x = groupValue(a, how), y = groupValue(b, how);
      return x < y ? -1 : x > y ? 1 : a.photos[0] - b.photos[0];
    });
    var grid = document.getElementById("grid");
    sorted.forEach(function (g) { grid.appendChild(g.el); });
    order = [];
    sorted.forEach(function (g) { Array.prototype.push.apply(order, g.photos); });
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
    var shown = 0;
    groups.forEach(function (g) {
      var any = false;
      g.photos.forEach(function (i) {
        var ok = passes(photos[i]);
        tiles[i].hidden = !ok;
        if (ok) { any = true; shown++; }
      });
      g.el.hidden = !any;
    });
    document.getElementById("shown").textContent = shown + " of " + photos.length + " shown";
    document.querySelectorAll("#filters button").forEach(function (b) {
      b.classList.toggle("on", b.getAttribute("data-filter") === state.filter);
    });
    document.querySelectorAll("#stars-filter button").forEach(function (b) {
      b.classList.toggle("on", Number(b.getAttribute("data-stars")) === state.stars);
    });
    if (state.selected >= 0 && tiles[state.selected].hidden) select(visible()[0] === undefined ? -1 : visible()[0], true);
  }
  function visible() { return order.filter(function (i) { return !tiles[i].hidden; }); }

  // --------------------------------------------------------------- selection --
  function select(i, scroll) {
    if (state.selected >= 0) tiles[state.selected].classList.remove("selected");
    state.selected = i;
    var panel = document.getElementById("detail");
    if (i < 0) { panel.hidden = true; return; }
    tiles[i].classList.add("selected");
    if (scroll) tiles[i].scrollIntoView({ block: "nearest" });
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
  function moveRow(down) {
    // the nearest visible tile in the next row above or below, by position on screen
    var vis = visible(), at = vis.indexOf(state.selected);
    if (at < 0) { move(0); return; }
    var cur = tiles[vis[at]].getBoundingClientRect(), best = -1, bestRow = null, bestDx = Infinity;
    for (var k = at + (down ? 1 : -1), seen = 0; k >= 0 && k < vis.length && seen < 400; k += down ? 1 : -1, seen++) {
      var r = tiles[vis[k]].getBoundingClientRect();
      if (Math.abs(r.top - cur.top) < 2) continue;
      if (bestRow === null) bestRow = r.top;
      else if (Math.abs(r.top - bestRow) >= 2) break;
      var dx = Math.abs(r.left - cur.left);
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
    if (p.thumb || (p.showable && p.url)) {
      var src = p.showable && p.url ? p.url : p.thumb;
      var f = frameFor(p, bw, bh, src, p.thumb && src !== p.thumb ? p.thumb : null);
      f.img.id = "lb-img";
      holder.appendChild(f.frame);
    } else {
      holder.appendChild(el("div", "placeholder", p.thumbError || "no thumbnail"));
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
  }

  summary();
  buildGroups();
  controls();
  sortGroups();
  applyFilter();
  document.body.setAttribute("data-ready", "1");
})();
