(function () {
  var v = document.getElementById("player"), lines = document.querySelectorAll("#transcript p[data-start]");
  var start = parseFloat(v.dataset.start || "0");
  if (start > 0) v.addEventListener("loadedmetadata", function () { v.currentTime = start; }, { once: true });
  lines.forEach(function (p) {
    p.addEventListener("click", function () { v.currentTime = parseFloat(p.dataset.start); v.play().catch(function () {}); });
  });
  var current = null;
  v.addEventListener("timeupdate", function () {
    var t = v.currentTime, found = null;
    lines.forEach(function (p) { if (t >= parseFloat(p.dataset.start) && t < parseFloat(p.dataset.end)) found = p; });
    if (found !== current) {
      if (current) current.classList.remove("current");
      if (found) { found.classList.add("current"); found.scrollIntoView({ block: "nearest" }); }
      current = found;
    }
  });
  function hms(t) {   // 0:01:05.3, as the form and the CLI read it
    var h = Math.floor(t / 3600), m = Math.floor(t % 3600 / 60), s = (t % 60).toFixed(1);
    return h + ":" + String(m).padStart(2, "0") + ":" + s.padStart(4, "0");
  }
  document.getElementById("mark-start").onclick = function () { document.getElementById("clip-start").value = hms(v.currentTime); };
  document.getElementById("mark-end").onclick = function () { document.getElementById("clip-end").value = hms(v.currentTime); };
})();
