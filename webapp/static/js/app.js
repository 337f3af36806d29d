// RongFlow page behaviour. Loaded by base.html; no inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  var printButton = document.getElementById("print-button");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  // Case page: scroll the (wide) diagram so the first current step is in the middle of its box.
  var diagram = document.querySelector(".diagram");
  var current = diagram && diagram.querySelector("g.bpmn-current");
  if (current) {
    var box = diagram.getBoundingClientRect(), step = current.getBoundingClientRect();
    diagram.scrollLeft += (step.left + step.width / 2) - (box.left + box.width / 2);
  }
  // Decision buttons: prevent a double submit (the engine also rejects it as a conflict).
  document.querySelectorAll("form.step-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      window.setTimeout(function () {
        if (event.defaultPrevented) { return; }  // handled in place (暂存, keep.js)
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
  // Table fields: "添加一行" appends a copy of the last row, emptied, with the next row number.
  document.querySelectorAll(".table-field [data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var body = button.closest(".table-field").querySelector("tbody");
      var index = body.children.length;
      var row = body.lastElementChild.cloneNode(true);
      row.querySelector("th").textContent = String(index + 1);
      row.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/-\d+-(\w+)$/, "-" + index + "-$1");
        input.id = input.id.replace(/-\d+-(\w+)$/, "-" + index + "-$1");
        input.value = "";
        input.classList.remove("is-invalid");
        input.removeAttribute("aria-invalid");
        var label = input.getAttribute("aria-label") || "";
        input.setAttribute("aria-label", label.replace(/第\d+行/, "第" + (index + 1) + "行"));
      });
      row.querySelectorAll(".invalid-feedback").forEach(function (e) { e.remove(); });
      body.appendChild(row);
    });
  });
})();
