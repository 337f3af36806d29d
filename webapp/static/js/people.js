// The person picker (抄送, 转办): a <select data-people-url="/people/..."> gets a search box and
// its people grouped under the units of the org tree (indented by depth), as webapp/people.py
// answers. Without this script the plain list still works; the server decides who may receive.
(function () {
  "use strict";

  var PAD = "\u3000";

  function render(select, units) {
    var chosen = {};
    Array.prototype.forEach.call(select.selectedOptions || [], function (o) { chosen[o.value] = true; });
    while (select.firstChild) { select.removeChild(select.firstChild); }
    units.forEach(function (unit) {
      var group = document.createElement("optgroup");
      group.label = new Array(unit.depth + 1).join(PAD) + unit.name;
      unit.people.forEach(function (person) {
        var option = document.createElement("option");
        option.value = String(person.id);
        option.textContent = person.name;
        option.selected = !!chosen[option.value];
        group.appendChild(option);
      });
      select.appendChild(group);
    });
    var status = select.parentNode.querySelector(".people-status");
    if (status) { status.textContent = units.length ? "" : "没有符合条件的人员"; }
  }

  function load(select, term) {
    var url = select.getAttribute("data-people-url") + "?q=" + encodeURIComponent(term);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && body.units) { render(select, body.units); } })
      .catch(function () { /* the list as the page drew it stays */ });
  }

  function enhance(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "form-control form-control-sm mb-1 people-search";
    box.placeholder = "搜索姓名或单位";
    box.setAttribute("aria-label", "搜索人员（姓名或单位）");
    var status = document.createElement("div");
    status.className = "small text-muted people-status";
    status.setAttribute("role", "status");
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(status, select.nextSibling);
    var timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { load(select, box.value.trim()); }, 250);
    });
    box.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
    load(select, "");
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-people-url]"), enhance);
  });
})();
