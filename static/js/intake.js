// The contact form's enhancements. The form works without any of this: the script only adds
// the call timer, keyboard shortcuts, autosave, the live routing preview and repeat-caller hints.
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var csrf = form.querySelector("input[name=csrf_token]").value;

  function post(url, body) {
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                       headers: {"X-CSRFToken": csrf}});
  }

  // ---- call timer -------------------------------------------------------------------------
  var timer = document.getElementById("call-timer");
  var started = Date.parse(document.getElementById("started-at").value);
  function tick() {
    var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    timer.textContent = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  if (timer && !isNaN(started)) { tick(); setInterval(tick, 1000); }

  // ---- keyboard: digits pick the contact type; Enter closes a contact that opens no case ----
  var types = document.getElementById("contact-types");
  types.addEventListener("keydown", function (event) {
    var radio = types.querySelector("input[data-key='" + event.key + "']");
    if (radio && !event.ctrlKey && !event.altKey && !event.metaKey) {
      radio.checked = true; radio.focus(); event.preventDefault(); changed();
      return;
    }
    if (event.key === "Enter") {
      var chosen = types.querySelector("input:checked");
      if (chosen && chosen.closest(".quick")) {
        event.preventDefault();
        form.requestSubmit(document.getElementById("quick-submit"));
      } else if (chosen) {
        event.preventDefault();
        document.getElementById("f-caller-relation").focus();
      }
    }
  });
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(form.querySelector("button[value=submit].primary:not(#quick-submit)"));
    }
  });
  // Only the submit button the operator means may submit on Enter in a text field.
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.tagName === "INPUT" &&
        event.target.type !== "radio" && event.target.type !== "checkbox" &&
        event.target.type !== "submit" && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
    }
  });

  // ---- section shortcuts: Alt+K categories, Alt+U urgency, Alt+S summary ----------------------
  var shortcuts = {
    k: function () { return document.getElementById("category-search"); },
    u: function () {
      var chosen = form.querySelector("input[name=urgency]:checked");
      if (chosen) { return chosen; }
      var p2 = form.querySelector("input[name=urgency][value=P2]");
      p2.checked = true; changed();  // a starting point; the arrow keys move from here
      return p2;
    },
    s: function () { return document.getElementById("f-summary"); }
  };
  document.addEventListener("keydown", function (event) {
    var target = event.altKey && !event.ctrlKey && shortcuts[event.key.toLowerCase()];
    if (target) {
      var element = target();
      if (element) { event.preventDefault(); element.focus(); }
    }
  });

  // ---- category search: type a few letters, Enter ticks the first match ---------------------
  var searchField = form.querySelector(".category-search-field");
  var search = document.getElementById("category-search");
  if (searchField && search) {
    searchField.hidden = false;
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var first = form.querySelector(".category-group:not([hidden]) label:not([hidden]) input");
      if (first) {
        first.checked = !first.checked;
        search.value = ""; search.dispatchEvent(new Event("input")); changed();
      }
    });
    search.addEventListener("input", function () {
      var needle = search.value.trim().toLowerCase();
      form.querySelectorAll(".category-group").forEach(function (group) {
        var any = false;
        group.querySelectorAll("label").forEach(function (label) {
          var match = !needle || label.textContent.toLowerCase().indexOf(needle) >= 0 ||
                      group.querySelector(".group-label").textContent.toLowerCase().indexOf(needle) >= 0;
          label.hidden = !match; any = any || match;
        });
        group.hidden = !any;
        // While searching, matching groups open; afterwards only groups with a ticked box stay open.
        group.open = needle ? any : group.querySelector("input:checked") !== null;
      });
    });
  }

  // ---- live routing preview -----------------------------------------------------------------
  var panel = document.getElementById("preview-panel");
  var previewTimer = null;
  function refreshPreview() {
    post(form.dataset.previewUrl, new FormData(form)).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null) { panel.innerHTML = html; }
    }).catch(function () { /* the button still works */ });
  }
  function changed() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, 300);
    scheduleSave();
  }
  form.addEventListener("change", function (event) {
    if (!panel.contains(event.target)) { changed(); }
  });

  // ---- autosave -------------------------------------------------------------------------------
  var status = document.getElementById("autosave-status");
  var draftField = document.getElementById("draft-id");
  // One save at a time (a second one sent before the first reply would carry no draft id),
  // and none once the form is on its way: the server keeps one draft per form either way.
  var dirty = false, saving = false, submitting = false, saveTimer = null;
  function scheduleSave() { dirty = true; clearTimeout(saveTimer); saveTimer = setTimeout(save, 3000); }
  function save() {
    if (!dirty || saving || submitting) { return; }
    dirty = false; saving = true;
    post(form.dataset.draftUrl, new FormData(form)).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.draft_id) {
        draftField.value = body.draft_id;
        status.textContent = status.dataset.saved || "✓";
      }
    }).catch(function () { dirty = true; }).then(function () { saving = false; });
  }
  form.addEventListener("input", scheduleSave);
  form.addEventListener("focusout", function () { if (dirty) { save(); } });
  form.addEventListener("submit", function () { submitting = true; clearTimeout(saveTimer); });
  setInterval(save, 5000);

  // ---- repeat callers -------------------------------------------------------------------------
  var hints = document.getElementById("repeat-callers");
  form.querySelectorAll("[data-lookup]").forEach(function (input) {
    input.addEventListener("change", function () {
      var value = input.value.trim();
      if (value.length < 10) { return; }
      // In the body, never the URL: a phone or IIN must not reach access logs or history.
      var body = new FormData();
      body.append(input.dataset.lookup, value);
      post(form.dataset.lookupUrl, body).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) { showMatches(body.items); } });
    });
  });
  function showMatches(items) {
    hints.textContent = "";
    if (!items.length) { return; }
    var title = document.createElement("p");
    title.textContent = hints.dataset.title || "Earlier cases:";
    hints.appendChild(title);
    items.forEach(function (item) {
      var row = document.createElement("p");
      var link = document.createElement("a");
      link.href = item.url; link.textContent = item.number; link.target = "_blank";
      var attach = document.createElement("button");
      attach.type = "button"; attach.textContent = hints.dataset.attach || "Attach";
      attach.addEventListener("click", function () {
        document.getElementById("f-case_id").value = item.id;
        var followUp = types.querySelector("input[value=follow_up]");
        if (followUp) { followUp.checked = true; }
        attach.textContent = "✓"; changed();
      });
      row.appendChild(link); row.appendChild(document.createTextNode(" "));
      row.appendChild(attach);
      hints.appendChild(row);
    });
  }
}());
