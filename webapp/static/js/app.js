// RongFlow page behaviour. Loaded by base.html; no inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  var printButton = document.getElementById("print-button");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  // Decision buttons: prevent a double submit (the engine also rejects it as a conflict).
  document.querySelectorAll("form.step-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
