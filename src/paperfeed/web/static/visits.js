// The NEW badge since this browser's last visit (web/visits.py says why it lives here: the
// server renders one rule for everyone, NEW on the newest day, so pages can be cached).
// localStorage "pf_visit" holds "since:last" in Unix seconds: this visit's threshold and the
// time of the last page. A visit ends after GAP seconds without pages; then the papers first
// seen after the end of the visit before are new. Nothing is sent to the server.
(function () {
  "use strict";
  var KEY = "pf_visit";
  var GAP = 3600;

  function stored() {
    try {
      var parts = (window.localStorage.getItem(KEY) || "").split(":");
      if (parts.length !== 2 || !/^\d{1,12}$/.test(parts[0]) || !/^\d{1,12}$/.test(parts[1])) {
        return null;
      }
      return { since: Number(parts[0]), last: Number(parts[1]) };
    } catch (e) {
      return null; // storage refused (private mode): the server's rule stands
    }
  }

  function mark(host, isNew) {
    var badge = host.querySelector(".badge-new");
    if (isNew && !badge) {
      badge = document.createElement("span");
      badge.className = "badge-new";
      badge.textContent = "new";
      host.appendChild(document.createTextNode(" "));
      host.appendChild(badge);
    } else if (!isNew && badge) {
      badge.remove();
    }
  }

  var now = Math.floor(Date.now() / 1000);
  var visit = stored();
  var since = null;
  if (visit) {
    since = now - visit.last > GAP ? visit.last : visit.since;
  }
  if (since) {
    document.querySelectorAll("[data-first-seen]").forEach(function (host) {
      var seen = Number(host.getAttribute("data-first-seen"));
      mark(host, seen > since);
    });
  }
  try {
    window.localStorage.setItem(KEY, (since || 0) + ":" + now);
  } catch (e) {
    // nothing to remember without storage
  }
})();
