// Step forms (webapp/templates/_form.html): fields shown only for some choices (x-show-if), the *
// of fields required for the chosen action, and a date picker that shows 年/月/日 in any locale.
// The server applies the same rules (engine.forms.hidden_fields): this only saves a round trip.
(function () {
  "use strict";

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // The value of a field as text: a checked radio, a select, a text input, or the action button
  // the user just pressed (data-chosen-<name>).
  function valueOf(form, name) {
    var chosen = form.getAttribute("data-chosen-" + name);
    if (chosen !== null) { return chosen; }
    var inputs = form.querySelectorAll("[name='" + name + "']");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.disabled || input.type === "submit") { continue; }
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) { return input.value; }
      } else {
        return input.value;
      }
    }
    return "";
  }

  function hiddenField(form, name) {
    var box = form.querySelector(".form-field[data-field='" + name + "']");
    return !!(box && box.hidden);
  }

  function meets(form, rule) {
    return !!rule && !hiddenField(form, rule.field) && (rule["in"] || []).indexOf(valueOf(form, rule.field)) >= 0;
  }

  // Show or hide each conditional field (its inputs disabled while hidden, so nothing is posted)
  // and show the * of each field the current choices require. Returns the fields just shown.
  function evaluate(form) {
    var shown = [];
    for (var pass = 0; pass < 3; pass++) {  // a field shown under a shown field
      form.querySelectorAll(".form-field[data-show-if]").forEach(function (box) {
        var show = meets(form, parse(box.getAttribute("data-show-if")));
        if (show === !box.hidden) { return; }
        box.hidden = !show;
        if (show) { shown.push(box); }
        box.querySelectorAll("input, select, textarea, button").forEach(function (el) {
          if (!show) {
            if (el.disabled) { el.setAttribute("data-was-disabled", ""); }
            el.disabled = true;
          } else if (!el.hasAttribute("data-was-disabled")) {
            el.disabled = false;
          }
        });
      });
    }
    form.querySelectorAll(".form-field[data-required-if]").forEach(function (box) {
      var rules = parse(box.getAttribute("data-required-if")) || [];
      var needed = rules.some(function (rule) { return meets(form, rule); });
      var star = box.querySelector(".req-star");
      if (star) { star.hidden = !needed; }
      box.setAttribute("data-needed", needed ? "1" : "");
    });
    return shown.filter(function (box) { return !box.hidden; });
  }

  // Whether a field's choice shows or requires other fields.
  function controls(form, name) {
    return Array.prototype.some.call(form.querySelectorAll(".form-field[data-show-if], .form-field[data-required-if]"), function (box) {
      var rules = [parse(box.getAttribute("data-show-if"))].concat(parse(box.getAttribute("data-required-if")) || []);
      return rules.some(function (rule) { return rule && rule.field === name; });
    });
  }

  function empty(box) {
    var filled = false;
    box.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.disabled || el.type === "button") { return; }
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value.trim() !== "") { filled = true; }
    });
    return !filled;
  }

  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector(".form-field[data-show-if], .form-field[data-required-if]")) { return; }
    evaluate(form);
    form.addEventListener("change", function () { evaluate(form); });
    form.addEventListener("input", function () { evaluate(form); });
    // An action button that brings up fields of its own (e.g. 申请延期 → 延期天数): show them
    // first and let the user fill them in, then press the button again.
    form.querySelectorAll("button[type=submit][name]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!controls(form, button.name)) { return; }
        form.setAttribute("data-chosen-" + button.name, button.value);
        var shown = evaluate(form).filter(function (box) {
          return box.getAttribute("data-needed") === "1" && empty(box);
        });
        if (shown.length) {
          event.preventDefault();
          var note = form.querySelector(".show-if-note");
          if (!note) {
            note = document.createElement("div");
            note.className = "alert alert-info show-if-note";
            note.setAttribute("role", "status");
            form.insertBefore(note, form.querySelector(".action-row"));
          }
          note.textContent = "请填写标 * 的内容后，再点击「" + button.textContent.trim() + "」。";
          var first = shown[0].querySelector("input:not([disabled]), select:not([disabled]), textarea:not([disabled])");
          if (first) { first.focus(); }
        }
      });
    });
  });

  // ---------------------------------------------------------------- date picker (年/月/日)
  var WEEK = ["日", "一", "二", "三", "四", "五", "六"];

  function isoOf(y, m, d) {
    return y + "-" + (m < 10 ? "0" : "") + m + "-" + (d < 10 ? "0" : "") + d;
  }

  function parseIso(text) {
    var found = /^(\d{4})-(\d{2})-(\d{2})$/.exec((text || "").trim());
    if (!found) { return null; }
    var y = +found[1], m = +found[2], d = +found[3];
    var day = new Date(y, m - 1, d);
    return day.getMonth() === m - 1 && day.getDate() === d ? { y: y, m: m, d: d } : null;
  }

  function option(value, text, selected) {
    var o = document.createElement("option");
    o.value = String(value);
    o.textContent = text;
    o.selected = selected;
    return o;
  }

  function describe(input) {
    var text = input.closest(".date-field").querySelector("[data-date-text]");
    var day = parseIso(input.value);
    if (text) { text.textContent = day ? day.y + "年" + day.m + "月" + day.d + "日" : ""; }
  }

  function setValue(input, value) {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function openPicker(input, opener) {
    var field = input.closest(".date-field");
    var old = field.querySelector(".date-picker");
    if (old) { old.remove(); opener.setAttribute("aria-expanded", "false"); return; }
    var now = new Date();
    var day = parseIso(input.value) || { y: now.getFullYear(), m: now.getMonth() + 1, d: 0 };
    var picker = document.createElement("div");
    picker.className = "date-picker card shadow-sm";
    picker.setAttribute("role", "dialog");
    picker.setAttribute("aria-label", "选择日期");
    var head = document.createElement("div");
    head.className = "d-flex gap-1 align-items-center mb-2";
    var year = document.createElement("select");
    year.className = "form-select form-select-sm";
    year.setAttribute("aria-label", "年");
    for (var y = now.getFullYear() - 100; y <= now.getFullYear() + 10; y++) {
      year.appendChild(option(y, y + "年", y === day.y));
    }
    var month = document.createElement("select");
    month.className = "form-select form-select-sm";
    month.setAttribute("aria-label", "月");
    for (var m = 1; m <= 12; m++) { month.appendChild(option(m, m + "月", m === day.m)); }
    head.appendChild(year);
    head.appendChild(month);
    var grid = document.createElement("table");
    grid.className = "table table-sm text-center mb-1 date-grid";
    picker.appendChild(head);
    picker.appendChild(grid);

    function draw() {
      var y = +year.value, m = +month.value;
      grid.innerHTML = "";
      var row = document.createElement("tr");
      WEEK.forEach(function (w) {
        var th = document.createElement("th");
        th.textContent = w;
        th.scope = "col";
        row.appendChild(th);
      });
      var thead = document.createElement("thead");
      thead.appendChild(row);
      grid.appendChild(thead);
      var body = document.createElement("tbody");
      var first = new Date(y, m - 1, 1).getDay(), days = new Date(y, m, 0).getDate();
      row = document.createElement("tr");
      for (var i = 0; i < first; i++) { row.appendChild(document.createElement("td")); }
      for (var d = 1; d <= days; d++) {
        if (row.children.length === 7) { body.appendChild(row); row = document.createElement("tr"); }
        var cell = document.createElement("td");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-sm " + (y === day.y && m === day.m && d === day.d ? "btn-primary" : "btn-light");
        button.textContent = String(d);
        button.setAttribute("aria-label", y + "年" + m + "月" + d + "日");
        button.setAttribute("data-date", isoOf(y, m, d));
        cell.appendChild(button);
        row.appendChild(cell);
      }
      body.appendChild(row);
      grid.appendChild(body);
    }
    year.addEventListener("change", draw);
    month.addEventListener("change", draw);
    grid.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-date]");
      if (!button) { return; }
      setValue(input, button.getAttribute("data-date"));
      picker.remove();
      opener.setAttribute("aria-expanded", "false");
      input.focus();
    });
    var foot = document.createElement("div");
    foot.className = "d-flex justify-content-between";
    [["今天", function () { setValue(input, isoOf(now.getFullYear(), now.getMonth() + 1, now.getDate())); }],
     ["清除", function () { setValue(input, ""); }],
     ["关闭", function () {}]].forEach(function (pair) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-sm btn-link";
      b.textContent = pair[0];
      b.addEventListener("click", function () { pair[1](); picker.remove(); opener.setAttribute("aria-expanded", "false"); });
      foot.appendChild(b);
    });
    picker.appendChild(foot);
    draw();
    field.querySelector(".input-group").after(picker);
    opener.setAttribute("aria-expanded", "true");
    year.focus();
  }

  document.querySelectorAll("[data-date-input]").forEach(function (input) {
    var opener = input.closest(".date-field").querySelector("[data-date-open]");
    describe(input);
    input.addEventListener("input", function () { describe(input); });
    if (opener) { opener.addEventListener("click", function () { openPicker(input, opener); }); }
  });
})();
