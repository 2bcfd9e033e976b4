// Berth's own small script: no inline scripts are allowed by the page policy.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#id"> copies the text of the element it names.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.querySelector(btn.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      btn.textContent = "Copied";
    });
  });

  // Errors answered to htmx requests land in the flash area; scroll it into view.
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "flash") {
      ev.detail.target.scrollIntoView({ block: "nearest" });
    }
  });
})();
