// Admin and audit pages: ask before destructive actions (forms with data-confirm).
// Loaded from a static file; no inline scripts or handlers (CSP script-src 'self').
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
})();
