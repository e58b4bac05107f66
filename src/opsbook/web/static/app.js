// opsbook console: times in the viewer's zone, live response clocks, live updates over
// server-sent events, timeline filters, confirmations. No framework, no build step.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });

  function span(seconds) {
    var s = Math.abs(Math.round(seconds));
    if (s < 90) return s + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      el.title = at.toISOString();
      if (el.hasAttribute("data-ago")) {
        el.textContent = span((Date.now() - at) / 1000) + " ago";
      } else {
        el.textContent = fmt.format(at);
      }
    });
  }

  function clocks(root) {
    root.querySelectorAll("[data-due]").forEach(function (el) {
      var left = (new Date(el.getAttribute("data-due")) - Date.now()) / 1000;
      el.classList.toggle("breached", left < 0);
      el.classList.toggle("at-risk", left >= 0 && left < 300);
      el.textContent = left < 0 ? "ack overdue by " + span(left) : "ack due in " + span(left);
    });
  }

  var filter = "all";
  function applyFilter(root) {
    root.querySelectorAll("[data-filter]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-filter") === filter));
    });
    root.querySelectorAll(".timeline li").forEach(function (li) {
      li.hidden = filter !== "all" && li.getAttribute("data-group") !== filter;
    });
  }

  // The rota: four weeks of days in the viewer's zone, who covers each, holes marked.
  var dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric" });
  var hm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  function calendar(root) {
    var holder = root.querySelector("[data-calendar]");
    var data = root.querySelector("#rota");
    if (!holder || !data) return;
    var rota = JSON.parse(data.textContent);
    var first = new Date(rota.start);
    first = new Date(first.getFullYear(), first.getMonth(), first.getDate());
    var today = new Date(); today.setHours(0, 0, 0, 0);
    holder.textContent = "";
    for (var i = 0; i < rota.weeks * 7; i++) {
      var day = new Date(first.getFullYear(), first.getMonth(), first.getDate() + i);
      var next = new Date(first.getFullYear(), first.getMonth(), first.getDate() + i + 1);
      var cell = document.createElement("div");
      cell.className = "day" + (day.getTime() === today.getTime() ? " today" : "");
      var head = document.createElement("div");
      head.className = "date";
      head.textContent = dayFmt.format(day);
      cell.appendChild(head);
      rota.shifts.forEach(function (s) {
        var a = new Date(s.from), b = new Date(s.until);
        if (b <= day || a >= next || !s.person) return;
        var line = document.createElement("div");
        var label = s.layer !== s.schedule ? s.schedule + "/" + s.layer : s.schedule;
        var part = "";
        if (a > day) part += " from " + hm.format(a);
        if (b < next) part += " until " + hm.format(b);
        line.textContent = label + ": " + s.person + part + (s.override ? " (override)" : "");
        if (s.override) line.className = "override";
        cell.appendChild(line);
      });
      var said = {};
      rota.holes.forEach(function (h) {
        var a = new Date(h.from), b = new Date(h.until);
        if (b <= day || a >= next || said[h.name]) return;
        said[h.name] = true;
        cell.classList.add("hole");
        var line = document.createElement("div");
        line.className = "hole-text";
        line.textContent = "hole: " + h.name;
        line.title = h.why;
        cell.appendChild(line);
      });
      holder.appendChild(cell);
    }
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-utc-times")) return;
    ["from", "to"].forEach(function (name) {
      var field = form.elements[name];
      if (!field || !field.value) return;
      var hidden = form.querySelector("input[name=" + name + "_utc]") || document.createElement("input");
      hidden.type = "hidden"; hidden.name = name + "_utc";
      hidden.value = new Date(field.value).toISOString();
      form.appendChild(hidden);
    });
  });

  function enhance(root) {
    localTimes(root);
    clocks(root);
    applyFilter(root);
    calendar(root);
  }

  document.addEventListener("click", function (ev) {
    var chip = ev.target.closest("[data-filter]");
    if (chip) {
      filter = chip.getAttribute("data-filter");
      applyFilter(document);
    }
    var confirmed = ev.target.closest("[data-confirm]");
    if (confirmed && !window.confirm(confirmed.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  });

  var busy = false, again = false;
  function refresh() {
    var live = document.getElementById("live");
    if (!live) return;
    if (busy) { again = true; return; }
    busy = true;
    var url = location.pathname + location.search + (location.search ? "&" : "?") + "fragment=1";
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || r.status === 401) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          live.innerHTML = html;
          enhance(live);
          document.body.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () {})
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  function listen() {
    var mode = document.body.getAttribute("data-live");
    if (!mode || !window.EventSource) return;
    var source = new EventSource("/events");
    source.addEventListener("change", function (ev) {
      if (mode === "store" && ev.data === "results") return;
      refresh();
    });
    source.addEventListener("open", function () {
      document.body.setAttribute("data-connected", "1");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    setInterval(function () { clocks(document); }, 1000);
    setInterval(function () { localTimes(document); }, 30000);
    listen();
  });
})();
