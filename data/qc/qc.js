/* Spinal Cord Toolbox QC report page.
 *
 * Reads window.QC_ENTRIES (written by the toolbox into qc_entries.js: pages opened over
 * file:// cannot fetch JSON), shows a sortable, searchable table and the selected entry's
 * image with its overlay. Ratings live in localStorage (keyed by the report's location) and
 * are exported with a Blob download: qc_fail.yml (files needing correction) and
 * qc_flags.json (all ratings); either can be loaded back. No network access anywhere.
 */
(function () {
  "use strict";

  var RATINGS = ["pass", "fail", "artifact"];
  var ICONS = { pass: "✓", fail: "✗", artifact: "⚠", none: "–" };
  var STORAGE_KEY = "sct-qc-ratings:" + decodeURIComponent(location.pathname.replace(/index\.html$/, ""));

  var entries = (window.QC_ENTRIES || []).map(function (e, i) {
    var copy = Object.assign({}, e);
    copy.index = i + 1;
    return copy;
  });
  var ratings = loadRatings();
  var state = { sortKey: "index", sortDir: 1, query: "", ratingFilter: "", visible: [], selected: null,
                overlayOn: true, flicker: null };

  var $ = function (id) { return document.getElementById(id); };
  var tbody = document.querySelector("#entries tbody");

  // ---------------------------------------------------------------- ratings storage
  function loadRatings() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}") || {};
    } catch (err) {
      return {};
    }
  }
  function storeRatings() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(ratings));
    } catch (err) { /* storage disabled: ratings last for this page view only */ }
  }
  function ratingOf(entry) { return ratings[entry.id] || "none"; }
  function setRating(entry, rating) {
    if (!entry) { return; }
    if (!rating || rating === "none") { delete ratings[entry.id]; } else { ratings[entry.id] = rating; }
    storeRatings();
    renderTable();
    showEntry(entry, false);
  }
  function cycleRating(entry) {
    if (!entry) { return; }
    // none -> pass -> fail -> artifact -> none
    var current = RATINGS.indexOf(ratingOf(entry));
    setRating(entry, current === RATINGS.length - 1 ? "none" : RATINGS[current + 1]);
  }

  // ---------------------------------------------------------------- table
  function fieldText(entry, key) {
    if (key === "rating") { return ratingOf(entry); }
    var v = entry[key];
    return v === undefined || v === null ? "" : String(v);
  }
  function matches(entry, terms) {
    var hay = ["date", "dataset", "subject", "contrast", "process", "command", "image", "seg", "image2"]
      .map(function (k) { return fieldText(entry, k); }).join(" ").toLowerCase() + " " + ratingOf(entry);
    return terms.every(function (t) { return hay.indexOf(t) !== -1; });
  }
  function computeVisible() {
    var terms = state.query.toLowerCase().split(/\s+/).filter(Boolean);
    var list = entries.filter(function (e) {
      return matches(e, terms) && (!state.ratingFilter || ratingOf(e) === state.ratingFilter);
    });
    var key = state.sortKey, dir = state.sortDir;
    list.sort(function (a, b) {
      var x = key === "index" ? a.index : fieldText(a, key).toLowerCase();
      var y = key === "index" ? b.index : fieldText(b, key).toLowerCase();
      if (x < y) { return -dir; }
      if (x > y) { return dir; }
      return a.index - b.index;
    });
    state.visible = list;
  }
  function cell(tr, text, cls, title) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    if (title) { td.title = title; }
    tr.appendChild(td);
    return td;
  }
  function badge(rating) {
    var span = document.createElement("span");
    span.className = "badge " + rating;
    span.textContent = ICONS[rating] + " " + (rating === "none" ? "unrated" : rating);
    return span;
  }
  function renderTable() {
    computeVisible();
    tbody.textContent = "";
    state.visible.forEach(function (e) {
      var tr = document.createElement("tr");
      tr.dataset.id = e.id;
      tr.dataset.rating = ratingOf(e);
      if (state.selected && state.selected.id === e.id) { tr.className = "selected"; }
      cell(tr, e.index, "num");
      cell(tr, (e.date || "").replace("T", " "));
      cell(tr, e.dataset);
      cell(tr, e.subject);
      cell(tr, e.contrast);
      cell(tr, e.process);
      cell(tr, e.command, "command", e.command);
      cell(tr, "", "rating").appendChild(badge(ratingOf(e)));
      tr.addEventListener("click", function () { select(e); });
      tbody.appendChild(tr);
    });
    document.querySelectorAll("#entries th").forEach(function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.dataset.key === state.sortKey) { th.classList.add(state.sortDir > 0 ? "sorted-asc" : "sorted-desc"); }
    });
    $("empty").hidden = entries.length > 0;
    renderCounts();
  }
  function renderCounts() {
    var n = { pass: 0, fail: 0, artifact: 0, none: 0 };
    entries.forEach(function (e) { n[ratingOf(e)] += 1; });
    $("counts").textContent = (state.visible.length < entries.length ? state.visible.length + " of " : "") +
      entries.length + " entries · " + n.pass + " pass · " + n.fail + " fail · " + n.artifact + " artifact · " +
      n.none + " unrated";
  }

  // ---------------------------------------------------------------- viewer
  function select(entry) {
    stopFlicker();
    state.selected = entry;
    state.overlayOn = true;
    document.querySelectorAll("#entries tbody tr").forEach(function (tr) {
      var on = entry && tr.dataset.id === entry.id;
      tr.classList.toggle("selected", on);
      if (on) { tr.scrollIntoView({ block: "nearest" }); }
    });
    showEntry(entry, true);
  }
  function addMeta(dl, label, value, mono) {
    if (!value) { return; }
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = value;
    if (mono) { dd.className = "mono"; }
    dl.appendChild(dt);
    dl.appendChild(dd);
  }
  function showEntry(entry, newImages) {
    var bg = $("img-background"), ov = $("img-overlay"), frame = $("frame");
    if (!entry) {
      bg.removeAttribute("src");
      ov.removeAttribute("src");
      $("meta").textContent = "";
      $("overlay-state").textContent = "No entry selected.";
      return;
    }
    if (newImages) {
      bg.onload = fitImage;
      bg.src = entry.background;
      ov.src = entry.overlay;
      bg.alt = entry.process + " — " + entry.subject;
    }
    frame.classList.toggle("overlay-off", !state.overlayOn);
    var rating = ratingOf(entry);
    frame.className = frame.className.replace(/\brated-\S+/g, "").trim();
    if (rating !== "none") { frame.classList.add("rated-" + rating); }
    document.querySelectorAll(".rate").forEach(function (b) {
      b.classList.toggle("active", b.dataset.rating === rating);
    });
    var what = entry.kind === "toggle"
      ? (state.overlayOn ? "<b>second image</b> (moved / after)" : "<b>first image</b> (destination / before)")
      : "overlay <b>" + (state.overlayOn ? "on" : "off") + "</b>";
    $("overlay-state").innerHTML = "Showing " + what + " — press <kbd>→</kbd> to toggle" +
      (state.flicker ? ", <kbd>a</kbd> to stop the animation" : ", <kbd>a</kbd> to animate");
    var dl = $("meta");
    dl.textContent = "";
    addMeta(dl, "Process", entry.process);
    addMeta(dl, "Dataset / subject / contrast", [entry.dataset, entry.subject, entry.contrast].join(" / "));
    addMeta(dl, "Date", (entry.date || "").replace("T", " "));
    addMeta(dl, "Command", entry.command, true);
    addMeta(dl, "Image", entry.image, true);
    addMeta(dl, entry.kind === "labels" ? "Labels" : "Segmentation", entry.seg, true);
    addMeta(dl, "Second image", entry.image2, true);
    addMeta(dl, "View", entry.plane + (entry.slices && entry.slices.length ? ", " + entry.slices.length + " slices" : ""));
    addMeta(dl, "Toolbox version", entry.version);
  }
  function fitImage() {
    // largest size that fits the stage, keeping the aspect ratio (small mosaics are enlarged)
    var bg = $("img-background"), stage = $("stage");
    var w = bg.naturalWidth, h = bg.naturalHeight;
    if (!w || !h) { return; }
    var availW = stage.clientWidth - 20, availH = stage.clientHeight - 20;
    var scale = Math.min(availW / w, availH / h, 4);
    bg.style.width = Math.max(1, Math.floor(w * scale)) + "px";
    bg.style.height = Math.max(1, Math.floor(h * scale)) + "px";
  }
  function hoverSlice(ev) {
    // axial mosaics: name the slice under the mouse (tiles run left to right, top to bottom)
    var e = state.selected, label = $("hover");
    if (!e || !e.tile || !e.slices || !e.slices.length) { label.hidden = true; return; }
    var bg = $("img-background"), rect = bg.getBoundingClientRect();
    var x = (ev.clientX - rect.left) * bg.naturalWidth / rect.width;
    var y = (ev.clientY - rect.top) * bg.naturalHeight / rect.height;
    var ncol = Math.round(bg.naturalWidth / e.tile);
    var k = Math.floor(y / e.tile) * ncol + Math.floor(x / e.tile);
    if (k < 0 || k >= e.slices.length || x < 0 || y < 0) { label.hidden = true; return; }
    label.textContent = "slice " + e.slices[k];
    label.style.left = (ev.clientX - $("stage").getBoundingClientRect().left + 14) + "px";
    label.style.top = (ev.clientY - $("stage").getBoundingClientRect().top + 14) + "px";
    label.hidden = false;
  }
  function stopFlicker() {
    if (state.flicker) { clearInterval(state.flicker); state.flicker = null; }
  }
  function toggleFlicker() {
    // before/after played in a loop, as an animated GIF would (registration, motion correction)
    if (state.flicker) { stopFlicker(); } else if (state.selected) { state.flicker = setInterval(toggleOverlay, 700); }
    if (state.selected) { showEntry(state.selected, false); }
  }
  function toggleOverlay() {
    if (!state.selected) { return; }
    state.overlayOn = !state.overlayOn;
    showEntry(state.selected, false);
  }
  function move(step) {
    var list = state.visible;
    if (!list.length) { return; }
    var i = state.selected ? list.findIndex(function (e) { return e.id === state.selected.id; }) : -1;
    var j = i === -1 ? 0 : Math.min(list.length - 1, Math.max(0, i + step));
    select(list[j]);
  }

  // ---------------------------------------------------------------- export / import
  function toast(message) {
    var t = $("toast");
    t.textContent = message;
    t.classList.add("show");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.classList.remove("show"); }, 3500);
  }
  function download(name, text, type) {
    var blob = new Blob([text], { type: type });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function fileToCorrect(e) {
    // the segmentation / labels is what gets corrected; otherwise the (moved) image
    return e.seg || e.image2 || e.image || "";
  }
  function yamlString(v) { return JSON.stringify(v === undefined || v === null ? "" : String(v)); }
  function saveFails() {
    var failed = entries.filter(function (e) { return ratingOf(e) === "fail"; });
    var lines = ["# Spinal Cord Toolbox QC: entries rated 'fail' (files needing manual correction)",
                 "# report: " + decodeURIComponent(location.pathname),
                 "# saved: " + new Date().toISOString()];
    if (!failed.length) { lines.push("[]"); }
    failed.forEach(function (e) {
      lines.push("- dataset: " + yamlString(e.dataset));
      lines.push("  subject: " + yamlString(e.subject));
      lines.push("  contrast: " + yamlString(e.contrast));
      lines.push("  process: " + yamlString(e.process));
      lines.push("  file: " + yamlString(fileToCorrect(e)));
      lines.push("  image: " + yamlString(e.image));
      lines.push("  id: " + yamlString(e.id));
    });
    download("qc_fail.yml", lines.join("\n") + "\n", "text/yaml");
    toast("Saved qc_fail.yml: " + failed.length + " failed entr" + (failed.length === 1 ? "y" : "ies"));
  }
  function saveAll() {
    var out = {
      report: decodeURIComponent(location.pathname),
      saved: new Date().toISOString(),
      ratings: entries.filter(function (e) { return ratingOf(e) !== "none"; }).map(function (e) {
        return { id: e.id, rating: ratingOf(e), dataset: e.dataset, subject: e.subject, contrast: e.contrast,
                 process: e.process, file: fileToCorrect(e) };
      })
    };
    download("qc_flags.json", JSON.stringify(out, null, 1) + "\n", "application/json");
    toast("Saved qc_flags.json: " + out.ratings.length + " rated entries");
  }
  function parseFailYaml(text) {
    // reads back the list written by saveFails (one "key: JSON string" per line)
    var items = [], item = null;
    text.split(/\r?\n/).forEach(function (line) {
      var m = /^(\s*-)?\s*([A-Za-z_]+):\s*(.*)$/.exec(line);
      if (!m || line.trim().charAt(0) === "#") { return; }
      if (m[1]) { item = { rating: "fail" }; items.push(item); }
      if (!item) { return; }
      var value = m[3].trim();
      try { value = JSON.parse(value); } catch (err) { value = value.replace(/^['"]|['"]$/g, ""); }
      item[m[2]] = value;
    });
    return items;
  }
  function applyLoaded(items) {
    var byId = {}, byFile = {};
    entries.forEach(function (e) {
      byId[e.id] = e;
      byFile[e.process + "|" + fileToCorrect(e)] = e;
    });
    var n = 0;
    items.forEach(function (it) {
      var e = byId[it.id] || byFile[it.process + "|" + it.file];
      if (e && (RATINGS.indexOf(it.rating) !== -1)) { ratings[e.id] = it.rating; n += 1; }
    });
    storeRatings();
    renderTable();
    if (state.selected) { showEntry(state.selected, false); }
    toast("Loaded " + n + " rating" + (n === 1 ? "" : "s") + (items.length > n ? " (" + (items.length - n) + " not in this report)" : ""));
  }
  function loadFile(file) {
    var reader = new FileReader();
    reader.onload = function () {
      var text = String(reader.result), items;
      try {
        if (/\.json$/i.test(file.name)) {
          var data = JSON.parse(text);
          items = Array.isArray(data.ratings) ? data.ratings
            : Object.keys(data).map(function (k) { return { id: k, rating: data[k] }; });
        } else {
          items = parseFailYaml(text);
        }
      } catch (err) {
        toast("Cannot read " + file.name + ": " + err.message);
        return;
      }
      applyLoaded(items);
    };
    reader.readAsText(file);
  }

  // ---------------------------------------------------------------- events
  document.querySelectorAll("#entries th").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.key;
      state.sortDir = state.sortKey === key ? -state.sortDir : 1;
      state.sortKey = key;
      renderTable();
    });
  });
  $("search").addEventListener("input", function (ev) {
    state.query = ev.target.value;
    renderTable();
  });
  $("rating-filter").addEventListener("change", function (ev) {
    state.ratingFilter = ev.target.value;
    renderTable();
  });
  $("save-fails").addEventListener("click", saveFails);
  $("save-all").addEventListener("click", saveAll);
  $("load-file").addEventListener("change", function (ev) {
    if (ev.target.files.length) { loadFile(ev.target.files[0]); }
    ev.target.value = "";
  });
  document.querySelectorAll(".rate").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!state.selected) { return; }
      setRating(state.selected, ratingOf(state.selected) === b.dataset.rating ? "none" : b.dataset.rating);
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (typing) { document.activeElement.blur(); }
      move(ev.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (typing) {
      if (ev.key === "Escape" || ev.key === "Enter") { document.activeElement.blur(); }
      return;
    }
    var handled = true;
    if (ev.key === "ArrowRight") { toggleOverlay(); }
    else if (ev.key === "f" || ev.key === "F") { cycleRating(state.selected); }
    else if (ev.key === "1") { setRating(state.selected, "pass"); }
    else if (ev.key === "2") { setRating(state.selected, "fail"); }
    else if (ev.key === "3") { setRating(state.selected, "artifact"); }
    else if (ev.key === "0") { setRating(state.selected, "none"); }
    else if (ev.key === "/") { $("search").focus(); }
    else if (ev.key === "a" || ev.key === "A") { toggleFlicker(); }
    else { handled = false; }
    if (handled) { ev.preventDefault(); }
  });
  window.addEventListener("resize", fitImage);
  $("frame").addEventListener("mousemove", hoverSlice);
  $("frame").addEventListener("mouseleave", function () { $("hover").hidden = true; });

  renderTable();
  if (state.visible.length) { select(state.visible[0]); } else { showEntry(null); }
})();
