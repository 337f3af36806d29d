// Forms that never lose input: 暂存 and autosave of the task form, a warning before leaving a page
// with unsaved changes, the idle-timeout warning with 继续工作, in-place uploads with progress,
// inline preview and removal of files. Loaded by base.html; no inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf || "";
  var AUTOSAVE_MS = 1500;
  var leaving = false;  // a real submit or a planned sign-out: no "unsaved changes" question

  // ------------------------------------------------------------------ requests of this script
  var ended = false;  // the session is over: one way to the login page, no more requests
  function sessionEnded(loginUrl) {
    if (ended) { return; }
    ended = true;
    leaving = true;
    window.location.assign(loginUrl);
  }

  // The answer of a POST made by this script: its JSON, or an error message. A 401 (idle timeout)
  // or a redirect to the login page ends the page's session.
  function readAnswer(status, redirectedTo, text) {
    if (redirectedTo && redirectedTo.indexOf("/login") !== -1) {  // signed out elsewhere
      sessionEnded("/login?next=" + encodeURIComponent(here()));
      return {ended: true};
    }
    var data = null;
    try { data = JSON.parse(text); } catch (e) { data = null; }
    if (status === 401 && data && data.login) {
      sessionEnded(data.login);
      return {ended: true};
    }
    if (!data) {
      return {error: status === 413 ? "文件过大，未能上传" : "操作未成功，请稍后重试"};
    }
    if (status >= 400) {
      return {error: data.error || "操作未成功，请稍后重试"};
    }
    return {data: data};
  }

  function post(url, form, background) {
    if (ended) { return Promise.resolve({ended: true}); }
    var headers = {"X-Requested-With": "fetch", "Accept": "application/json", "X-CSRFToken": csrf};
    if (background) { headers["X-Rongflow-Background"] = "1"; }
    return fetch(url, {method: "POST", body: form, headers: headers, credentials: "same-origin"})
      .then(function (r) {
        return r.text().then(function (text) {
          var answer = readAnswer(r.status, r.redirected ? r.url : "", text);
          if (answer.data && !background) { idle.arm(); }  // the server counted it as activity
          return answer;
        });
      }, function () { return {error: "网络连接失败，请检查网络后重试"}; });
  }

  function here() { return window.location.pathname + window.location.search; }

  // ------------------------------------------------------------------ unsaved changes, autosave
  var stepForms = Array.prototype.slice.call(document.querySelectorAll("form.step-form"));
  var draftForm = document.querySelector("form.step-form[data-draft-url]");
  var edits = 0, savedEdits = 0, autosaveTimer = null;

  // The task form's text fields as one string: what the server holds (as rendered, or as last
  // saved) is compared with what is on screen, so an event that leaves the values as they were
  // (a blur after autosave fires "change") does not make the page ask before leaving.
  function snapshot(form) {
    var parts = [];
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string") { parts.push(key + "\u0000" + value); }
    });
    return parts.join("\u0001");
  }
  var savedSnapshot = draftForm ? snapshot(draftForm) : "";

  function isDirty() {
    return stepForms.some(function (f) { return f.dataset.dirty === "1"; });
  }

  function draftData() {
    var data = new FormData(draftForm);
    var out = new FormData();
    data.forEach(function (value, key) {
      if (typeof value === "string") { out.append(key, value); }  // files go up with the form itself
    });
    out.append("_here", here());
    return out;
  }

  function setStatus(text, bad) {
    var status = draftForm && draftForm.querySelector(".draft-status");
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("text-danger", !!bad);
    status.classList.toggle("text-muted", !bad);
  }

  var backgroundSave = null;  // the idle timer's save in flight (the warning's and the end's are one)
  function saveDraft(background, label) {
    if (!draftForm) { return Promise.resolve(null); }
    if (background && backgroundSave) { return backgroundSave; }
    window.clearTimeout(autosaveTimer);
    var sending = edits, sentSnapshot = snapshot(draftForm);
    var saving = post(draftForm.dataset.draftUrl, draftData(), background).then(function (answer) {
      if (answer.data) {
        savedEdits = Math.max(savedEdits, sending);
        savedSnapshot = sentSnapshot;
        if (savedEdits === edits || snapshot(draftForm) === savedSnapshot) { draftForm.dataset.dirty = ""; }
        setStatus((label || "已自动暂存") + "（" + answer.data.saved_at + "）");
      } else if (answer.error) {
        setStatus(answer.error, true);
      }
      if (background) { backgroundSave = null; }
      return answer;
    });
    if (background) { backgroundSave = saving; }
    return saving;
  }

  stepForms.forEach(function (form) {
    function changed(event) {
      if (event.target && event.target.type === "file") { return; }
      if (form === draftForm && snapshot(form) === savedSnapshot) {  // back to what is saved
        form.dataset.dirty = "";
        window.clearTimeout(autosaveTimer);
        return;
      }
      form.dataset.dirty = "1";
      if (form === draftForm) {
        edits += 1;
        window.clearTimeout(autosaveTimer);
        autosaveTimer = window.setTimeout(function () { saveDraft(false); }, AUTOSAVE_MS);
      }
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (form === draftForm && button && button.hasAttribute("data-draft-save")) {
        event.preventDefault();  // 暂存 without leaving the page
        edits += 1;
        saveDraft(false, "已暂存");
        return;
      }
      window.clearTimeout(autosaveTimer);
      leaving = true;
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !isDirty()) { return; }
    event.preventDefault();
    event.returnValue = "";  // the browser asks "leave this page? changes may not be saved"
  });

  // A file chosen in any file field: refused here when it is over the size limit, so a form is
  // never sent only to be cut off (the server's limit, data-max-upload-mb on <body>).
  var maxMb = Number(body.dataset.maxUploadMb || 0);
  function tooBig(input) {
    return maxMb > 0 && Array.prototype.some.call(input.files || [], function (f) {
      return f.size > maxMb * 1024 * 1024;
    });
  }
  var TOO_BIG = "文件过大，单个文件不能超过 " + maxMb + " MB，请压缩或拆分后重新选择";

  function fieldMessage(input, text) {
    var note = input.parentNode.querySelector(".file-size-note");
    if (!note && text) {
      note = document.createElement("div");
      note.className = "invalid-feedback d-block file-size-note";
      input.parentNode.appendChild(note);
    }
    if (note) { note.textContent = text; }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file]") || input.closest("form.upload-form[data-inplace]")) {
      return;  // the in-place upload says it next to its own button
    }
    if (tooBig(input)) {
      fieldMessage(input, TOO_BIG);
      input.value = "";
    } else {
      fieldMessage(input, "");
    }
  });

  // ------------------------------------------------------------------ files: upload, preview, remove
  function replaceList(html) {
    var list = document.querySelector("[data-attachment-list]");
    if (list && html) { list.outerHTML = html; }
  }

  document.querySelectorAll("form.upload-form[data-inplace]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector(".upload-progress");
    var message = form.querySelector(".upload-message");
    function say(text, bad) {
      message.textContent = text;
      message.classList.toggle("text-danger", !!bad);
      message.classList.toggle("text-success", !bad);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = input.files && input.files[0];
      if (!file) { say("请选择要上传的文件", true); return; }
      if (tooBig(input)) {
        say(TOO_BIG, true);
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "fetch");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(e.loaded * 100 / e.total); }
      });
      xhr.addEventListener("load", function () {
        bar.hidden = true;
        var redirected = xhr.responseURL && xhr.responseURL !== new URL(form.action, window.location.href).href
          ? xhr.responseURL : "";
        var answer = readAnswer(xhr.status, redirected, xhr.responseText);
        if (answer.data) {
          replaceList(answer.data.html);
          input.value = "";
          say(answer.data.message + "：" + file.name, false);
          idle.arm();
        } else if (answer.error) {
          say(answer.error, true);
        }
      });
      xhr.addEventListener("error", function () {
        bar.hidden = true;
        say("上传失败，请检查网络后重试", true);
      });
      bar.value = 0;
      bar.hidden = false;
      say("正在上传：" + file.name, false);
      xhr.send(new FormData(form));
    });
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.attachment-preview-link");
    if (!link) { return; }
    event.preventDefault();
    var item = link.closest("li");
    var open = item.querySelector(".attachment-preview");
    if (open) { open.remove(); link.textContent = "预览"; return; }
    var box = document.createElement("div");
    box.className = "attachment-preview mt-1" + (link.dataset.preview === "pdf" ? " ratio ratio-4x3 border" : "");
    var view;
    if (link.dataset.preview === "pdf") {
      view = document.createElement("iframe");
      view.title = "预览：" + link.dataset.filename;
    } else {
      view = document.createElement("img");
      view.alt = link.dataset.filename;
      view.className = "img-fluid border";
    }
    view.src = link.href;
    box.appendChild(view);
    item.appendChild(box);
    link.textContent = "收起预览";
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("attachment-remove")) { return; }
    event.preventDefault();
    if (!window.confirm("确定删除附件“" + form.dataset.filename + "”吗？")) { return; }
    post(form.action, new FormData(form), false).then(function (answer) {
      var message = document.querySelector("form.upload-form .upload-message");
      if (answer.data) { replaceList(answer.data.html); }
      if (message && (answer.data || answer.error)) {
        message.textContent = answer.data ? answer.data.message : answer.error;
        message.classList.toggle("text-danger", !answer.data);
        message.classList.toggle("text-success", !!answer.data);
      }
    });
  });

  // ------------------------------------------------------------------ idle warning, 继续工作
  var idle = (function () {
    var limit = Number(body.dataset.idleSeconds || 0);
    var warnBefore = Number(body.dataset.idleWarnSeconds || 0);
    var box = null, ticker = null, warnTimer = null, endTimer = null, deadline = 0, lastContact = 0;
    var TYPING_KEEPS_MS = 5 * 60 * 1000;

    // Typing is work: a form without autosave (a start form) renews the session now and then.
    document.addEventListener("input", function (event) {
      var form = event.target.form;
      if (!limit || !form || form === draftForm || form.method.toLowerCase() !== "post") { return; }
      if (Date.now() - lastContact > TYPING_KEEPS_MS) { keepWorking(); }
    });

    function countdown() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var text = left >= 60 ? Math.floor(left / 60) + " 分 " + (left % 60) + " 秒" : left + " 秒";
      box.querySelector(".idle-countdown").textContent = text;
    }

    function build() {
      box = document.createElement("div");
      box.className = "idle-warning alert alert-warning shadow position-fixed bottom-0 end-0 m-3 z-3 no-print";
      box.setAttribute("role", "alert");
      box.setAttribute("aria-live", "assertive");
      box.setAttribute("aria-label", "即将自动退出");
      var text = document.createElement("p");
      text.className = "mb-2";
      text.append("您已较长时间未操作，");
      var strong = document.createElement("strong");
      strong.className = "idle-countdown";
      text.append(strong, draftForm ? " 后将自动退出登录。未提交的表单内容会自动暂存。"
        : " 后将自动退出登录。如有未提交的内容，请点击“继续工作”后尽快提交。");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-primary idle-keep";
      button.textContent = "继续工作";
      button.addEventListener("click", keepWorking);
      box.append(text, button);
      box.hidden = true;
      document.body.appendChild(box);
    }

    function hide() {
      if (box) { box.hidden = true; }
      window.clearInterval(ticker);
    }

    function warn() {
      if (!box) { build(); }
      countdown();
      box.hidden = false;
      ticker = window.setInterval(countdown, 1000);
      if (draftForm && draftForm.dataset.dirty === "1") { saveDraft(true); }  // not activity
    }

    function keepWorking() {
      var form = new FormData();
      post(body.dataset.keepaliveUrl, form, false).then(function (answer) {
        if (answer.data) { arm(answer.data.remaining); }
      });
    }

    function timeUp() {
      hide();
      var saved = draftForm && draftForm.dataset.dirty === "1" ? saveDraft(true) : Promise.resolve(null);
      saved.then(function (answer) {
        if (answer && answer.ended) { return; }
        var form = new FormData();
        form.append("_here", here());
        return post(body.dataset.idleOutUrl, form, true).then(function (out) {
          if (out.data && out.data.remaining) { arm(out.data.remaining); }  // another tab was busy
        });
      });
    }

    function arm(seconds) {
      if (!limit) { return; }
      lastContact = Date.now();
      var left = Number(seconds || limit);
      window.clearTimeout(warnTimer);
      window.clearTimeout(endTimer);
      hide();
      deadline = Date.now() + left * 1000;
      warnTimer = window.setTimeout(warn, Math.max(0, left - warnBefore) * 1000);
      endTimer = window.setTimeout(timeUp, left * 1000);
    }

    return {arm: arm};
  })();
  idle.arm();
})();
