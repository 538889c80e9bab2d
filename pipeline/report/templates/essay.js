(function () {
  "use strict";
  var node = document.getElementById("ann-data");
  var data = node ? JSON.parse(node.textContent) : [];
  var panel = document.getElementById("panel-body");
  var hint = panel ? panel.getAttribute("data-empty") : "";
  var L = JSON.parse(document.getElementById("ui-strings").textContent);
  var pinned = null;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function diffBox(text, diff, k) {  // text with the chars that differ from the other side marked
    var box = el("div"), chars = Array.from(text), pos = 0;
    var ranges = (diff || []).map(function (r) { return [r[k], r[k + 1]]; })
      .filter(function (r) { return r[1] > r[0]; });
    for (var i = 0; i < ranges.length; i++) {
      if (ranges[i][0] > pos) { box.appendChild(document.createTextNode(chars.slice(pos, ranges[i][0]).join(""))); }
      box.appendChild(el("ins", "diff", chars.slice(ranges[i][0], ranges[i][1]).join("")));
      pos = ranges[i][1];
    }
    if (pos < chars.length) { box.appendChild(document.createTextNode(chars.slice(pos).join(""))); }
    return box;
  }
  function show(span) {
    if (!panel) { return; }
    while (panel.firstChild) { panel.removeChild(panel.firstChild); }
    var refs = (span.getAttribute("data-a") || "").split(" ");
    for (var i = 0; i < refs.length; i++) {
      var d = data[parseInt(refs[i], 10)];
      if (!d) { continue; }
      var box = el("div", "cmp");
      var head = el("div", "head");
      var sw = el("span", "sw k-" + d.kind, d.kind_label);
      head.appendChild(sw);
      if (d.kind === "theme") {
        head.appendChild(el("b", null, " " + d.theme));
        box.appendChild(head);
        if (d.theme_desc) { box.appendChild(el("div", "ev", d.theme_desc)); }
        if (d.cues && d.cues.length) { box.appendChild(el("div", "ev", L.cues + ": " + d.cues.join("、"))); }
        var only = el("div", "cols");
        var t1 = el("div", null, d.text); t1.style.gridColumn = "1 / 3";
        only.appendChild(t1); box.appendChild(only);
      } else {
        var name = d.source_title ? d.source_title + " (" + d.source_id + ")" : d.source_id;
        head.appendChild(document.createTextNode(" " + L.source + ": "));
        if (d.href) {
          var a = el("a", null, name); a.href = d.href; a.title = L.open_source;
          head.appendChild(a);
        } else { head.appendChild(el("b", null, name)); }
        if (d.similarity !== null && d.similarity !== undefined) {
          head.appendChild(document.createTextNode(" · " + L.similarity + " " +
            Math.round(d.similarity * 100) + "%"));
        }
        box.appendChild(head);
        var cols = el("div", "cols");
        cols.appendChild(el("div", "lab", L.this_essay));
        cols.appendChild(el("div", "lab", L.source_passage));
        cols.appendChild(diffBox(d.text, d.diff, 0));
        cols.appendChild(d.source_text ? diffBox(d.source_text, d.diff, 2) :
          el("div", "muted", L.no_source_text));
        box.appendChild(cols);
      }
      panel.appendChild(box);
    }
  }
  function clear() {
    if (!panel) { return; }
    while (panel.firstChild) { panel.removeChild(panel.firstChild); }
    panel.appendChild(el("p", "muted", hint));
  }
  var spans = document.querySelectorAll(".text .hl");
  function activate(s, pin) {
    var act = document.querySelectorAll(".hl.active");
    for (var i = 0; i < act.length; i++) { act[i].classList.remove("active"); }
    var first = (s.getAttribute("data-a") || "").split(" ")[0];
    for (var j = 0; j < spans.length; j++) {  // every piece of the same passage
      if ((" " + spans[j].getAttribute("data-a") + " ").indexOf(" " + first + " ") >= 0) {
        spans[j].classList.add("active");
      }
    }
    s.classList.add("active");
    if (pin) { pinned = s; }
    show(s);
  }
  for (var i = 0; i < spans.length; i++) {
    spans[i].addEventListener("mouseenter", function (ev) { if (!pinned) { show(ev.currentTarget); } });
    spans[i].addEventListener("click", function (ev) {
      var s = ev.currentTarget;
      if (pinned === s) { pinned = null; s.classList.remove("active"); return; }
      activate(s, true);
    });
    spans[i].addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { activate(ev.currentTarget, true); }
    });
  }
  var text = document.querySelector(".text");
  if (text) { text.addEventListener("mouseleave", function () { if (!pinned) { clear(); } }); }
  function cpLen(s) { return Array.from(s).length; }  // offsets count code points
  function u16(s, k) { return Array.from(s).slice(0, k).join("").length; }
  function markAt(pos, end) {  // wrap unhighlighted text [pos, end) in <mark class="jump">
    var root = document.getElementById("text"), off = 0, node = root ? root.firstChild : null;
    for (; node; node = node.nextSibling) {
      var len = cpLen(node.textContent);
      if (pos < off + len) { break; }
      off += len;
    }
    if (!node) { return null; }
    if (node.nodeType !== 3) { return node; }
    var a = pos - off, b = Math.min(cpLen(node.data), Math.max(a + 1, (end || pos + 1) - off));
    var mid = node.splitText(u16(node.data, a));
    mid.splitText(u16(mid.data, b - a));
    var m = el("mark", "jump");
    root.replaceChild(m, mid);
    m.appendChild(mid);
    return m;
  }
  function jump(pos, end) {
    for (var i = 0; i < spans.length; i++) {
      var s = spans[i], a = +s.getAttribute("data-s"), b = +s.getAttribute("data-e");
      if (a <= pos && pos < b) {
        s.scrollIntoView({block: "center"}); s.classList.add("flash"); activate(s, true); return;
      }
    }
    var old = document.querySelectorAll("mark.jump");
    for (var j = 0; j < old.length; j++) { old[j].replaceWith(old[j].firstChild); }
    if (old.length) { document.getElementById("text").normalize(); }
    var m = markAt(pos, end);
    if (m) { m.scrollIntoView({block: "center"}); m.classList.add("flash"); }
  }
  var links = document.querySelectorAll("a[data-jump]");
  for (var k = 0; k < links.length; k++) {
    links[k].addEventListener("click", function (ev) {
      ev.preventDefault();
      var t = ev.currentTarget;
      jump(+t.getAttribute("data-jump"), +(t.getAttribute("data-end") || 0));
    });
  }
  var m = /^#c(\d+)$/.exec(window.location.hash);
  if (m) { jump(+m[1]); }
})();
