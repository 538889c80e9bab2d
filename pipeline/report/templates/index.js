(function () {
  "use strict";
  var table = document.getElementById("essays");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var heads = table.querySelectorAll("th[data-k]");
  function key(td, numeric) {
    var v = td.getAttribute("data-v");
    if (v === null) { v = td.textContent; }
    if (numeric) { var f = parseFloat(v); return isNaN(f) ? -Infinity : f; }
    return v;
  }
  function sortBy(th) {
    var col = th.cellIndex, numeric = th.getAttribute("data-k") === "num";
    var dir = th.classList.contains("desc") ? 1 : (th.classList.contains("asc") ? -1 :
      (numeric ? -1 : 1));
    for (var i = 0; i < heads.length; i++) { heads[i].classList.remove("asc", "desc"); }
    th.classList.add(dir === 1 ? "asc" : "desc");
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
      var c = numeric ? (x - y) : String(x).localeCompare(String(y), "zh-CN");
      if (c === 0 || isNaN(c)) { c = a.getAttribute("data-i") - b.getAttribute("data-i"); return c; }
      return dir * c;
    });
    for (var j = 0; j < rows.length; j++) { tbody.appendChild(rows[j]); }
  }
  for (var i = 0; i < heads.length; i++) {
    heads[i].addEventListener("click", function (ev) { sortBy(ev.currentTarget); });
  }
  var q = document.getElementById("filter"), only = document.getElementById("only-flagged");
  var shown = document.getElementById("n-shown");
  function filter() {
    var s = q ? q.value.trim().toLowerCase() : "", n = 0;
    for (var i = 0; i < tbody.rows.length; i++) {
      var r = tbody.rows[i];
      var ok = (!s || r.textContent.toLowerCase().indexOf(s) >= 0) &&
        (!only || !only.checked || r.getAttribute("data-flagged") === "1");
      r.hidden = !ok; if (ok) { n++; }
    }
    if (shown) { shown.textContent = String(n); }
  }
  if (q) { q.addEventListener("input", filter); }
  if (only) { only.addEventListener("change", filter); }
  filter();
})();
