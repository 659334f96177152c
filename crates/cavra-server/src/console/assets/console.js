// cavra console: the only script. Shows a thin progress bar while the next page loads, so a
// slow filter never looks like nothing happened. Every page works without it.
"use strict";
(function () {
  function busy() { document.documentElement.classList.add("busy"); }
  document.addEventListener("submit", busy);
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href]");
    if (a && !a.hasAttribute("download") && !e.ctrlKey && !e.metaKey && !e.shiftKey && a.origin === location.origin) busy();
  });
  window.addEventListener("pageshow", function () { document.documentElement.classList.remove("busy"); });
})();
