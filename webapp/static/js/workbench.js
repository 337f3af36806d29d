// 领导审批 workbench (webapp/leader.py): one item open at a time (also where <details name> is not
// supported), a stock opinion picked into the opinion box, and the count of ticked items.
(function () {
  "use strict";
  var items = document.querySelectorAll(".workbench details.wb-item");
  items.forEach(function (item) {
    item.addEventListener("toggle", function () {
      if (!item.open) { return; }
      items.forEach(function (other) { if (other !== item && other.open) { other.open = false; } });
    });
  });
  document.querySelectorAll("[data-stock-pick]").forEach(function (select) {
    select.addEventListener("change", function () {
      var box = select.form && select.form.querySelector("textarea[name=opinion]");
      if (!box || !select.value) { return; }
      box.value = select.options[select.selectedIndex].text;
      box.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  var count = document.querySelector("[data-picked-count]");
  var picks = document.querySelectorAll("input.wb-pick");
  function recount() {
    var n = Array.prototype.filter.call(picks, function (p) { return p.checked; }).length;
    if (count) { count.textContent = n ? "已勾选 " + n + " 件" : "请勾选事项"; }
  }
  picks.forEach(function (p) { p.addEventListener("change", recount); });
  recount();
})();
