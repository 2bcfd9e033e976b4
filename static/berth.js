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

  // Destructive actions ask first: a form or its submit button with data-confirm sends
  // nothing unless the user says yes, and then sends confirmed=yes so the server knows it
  // asked (without this script, the server asks on a page of its own). Capture runs
  // before htmx's boosted submit, so a "no" stops both.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var q = (ev.submitter && ev.submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!q) return;
    if (!window.confirm(q)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      return;
    }
    var field = form.querySelector('input[name="confirmed"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "confirmed";
      form.appendChild(field);
    }
    field.value = "yes";
  }, true);

  // Errors answered to htmx requests land in the flash area; scroll it into view.
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "flash") {
      ev.detail.target.scrollIntoView({ block: "nearest" });
    }
  });
})();
