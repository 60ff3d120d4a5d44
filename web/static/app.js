// allot admin center: the little JavaScript the pages use. Everything works
// without it; it shows times in the viewer's time zone and checks dynamic
// membership rules as they are typed.
(function () {
  "use strict";

  // One date format: times are rendered in UTC as <time datetime="…Z">
  // (ISO, "2006-01-02 15:04 UTC", without JavaScript); show them in the
  // viewer's locale and zone, keeping UTC in the tooltip. Calendar days
  // (<time data-day datetime="YYYY-MM-DD">) get the same date style and stay
  // on their day (formatted in UTC, where the date was given).
  function localTimes(root) {
    var fmt, dayFmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
      dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var day = el.hasAttribute("data-day");
      var d = new Date(el.getAttribute("datetime") + (day ? "T00:00:00Z" : ""));
      if (isNaN(d.getTime())) return;
      if (!el.title) el.title = el.textContent;
      el.textContent = (day ? dayFmt : fmt).format(d);
    });
  }

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function plural(n, one, many) {
    return n === 1 ? "1 " + one : n.toLocaleString() + " " + many;
  }

  // Render the answer of /admin/rules/validate into the live region.
  function showCheck(out, res) {
    out.replaceChildren();
    if (res.valid) {
      var p = el("p", "", "ok");
      p.appendChild(el("strong", "The rule is valid."));
      p.appendChild(document.createTextNode(" It matches " + plural(res.matchCount || 0, "user", "users") + " now" +
        (res.sample && res.sample.length ? ", for example:" : ".")));
      out.appendChild(p);
      if (res.sample && res.sample.length) {
        var ul = el("ul", undefined, "sample");
        res.sample.forEach(function (u) {
          var li = el("li");
          var a = el("a", u.displayName);
          a.href = "/admin/users/" + encodeURIComponent(u.id);
          li.appendChild(a);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(el("small", u.userPrincipalName));
          ul.appendChild(li);
        });
        out.appendChild(ul);
      }
      return;
    }
    var q = el("p", "", "err");
    q.appendChild(el("strong", "The rule has a problem:"));
    out.appendChild(q);
    var errs = el("ul", undefined, "errors");
    (res.errors || []).forEach(function (e) {
      errs.appendChild(el("li", "Line " + e.position.line + ", column " + e.position.column + ": " + e.message));
    });
    out.appendChild(errs);
  }

  function ruleEditor(form) {
    var ta = form.querySelector("textarea[name=rule]");
    var out = form.querySelector(".rule-check");
    if (!ta || !out || !window.fetch) return;
    var timer = null, seq = 0;
    function check() {
      var mine = ++seq;
      form.setAttribute("aria-busy", "true");
      fetch("/admin/rules/validate", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ rule: ta.value })
      }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }).then(function (res) {
        if (mine !== seq) return; // a later check is on its way
        ta.setAttribute("aria-invalid", res.valid ? "false" : "true");
        form.dataset.state = res.valid ? "valid" : "invalid";
        showCheck(out, res);
      }).catch(function () {
        if (mine !== seq) return;
        out.replaceChildren(el("p", "The rule could not be checked just now; use Check and preview.", "err"));
      }).finally(function () {
        if (mine === seq) form.removeAttribute("aria-busy");
      });
    }
    ta.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 350);
    });
  }

  // A time zone field left empty starts with the viewer's zone (the
  // server takes UTC when it is sent empty).
  function localZone(root) {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    if (!zone) return;
    root.querySelectorAll("input[data-local-zone]").forEach(function (el) {
      if (!el.value) el.value = zone;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    localZone(document);
    document.querySelectorAll("form[data-rule-editor]").forEach(ruleEditor);
  });
})();
