/* aftersale pages: a few progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // Buttons with data-dialog open the <dialog> of that id; [data-close] buttons close it.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        var first = dialog.querySelector("input, select, textarea, button");
        if (first) first.focus();
      }
    }
    var closer = event.target.closest("[data-close]");
    if (closer) {
      var box = closer.closest("dialog");
      if (box) { event.preventDefault(); box.close(); }
    }
  });

  // <span data-countdown="ISO due time" data-now="server's ISO now"> shows the time left.
  // Counting from the server's "now" keeps it right when the server clock is not the
  // browser's (a test clock, or a wrong clock on the buyer's phone).
  var loaded = Date.now();
  function tick() {
    var elapsed = Date.now() - loaded;
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var base = Date.parse(el.getAttribute("data-now") || "") || loaded;
      var now = base + elapsed;
      var left = Math.max(0, Math.floor((Date.parse(el.getAttribute("data-countdown")) - now) / 1000));
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      var pad = function (n) { return n < 10 ? "0" + n : "" + n; };
      el.textContent = (d ? d + (el.getAttribute("data-day") || "d") + " " : "") +
        pad(h) + ":" + pad(m) + ":" + pad(s);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });

  // A table that scrolls sideways (a phone) can be scrolled from the keyboard too.
  function scrollables() {
    document.querySelectorAll(".table-scroll").forEach(function (el) {
      if (!el.hasAttribute("tabindex")) { el.setAttribute("tabindex", "0"); }
    });
  }
  document.addEventListener("DOMContentLoaded", scrollables);
  document.addEventListener("htmx:afterSwap", scrollables);
})();
