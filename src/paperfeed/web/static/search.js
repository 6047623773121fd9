// The search page: after Back or Forward, the form shows what the address says.
//
// htmx swaps only #results and pushes each search's address. On Back/Forward it restores a
// snapshot of the page (or, on a cache miss, refetches it), and a snapshot keeps the inputs'
// value *attributes* from the first page load, not what was typed since: the results would be
// filtered while the boxes look empty, and the next change would silently drop the filter.
// Taking a better snapshot cannot help either: htmx saves the snapshot of an address when it
// leaves it, when the form already holds the next search. The address is the one truth the
// results were made from, so the fields are set from it, the same way the server renders them.
// It also covers a page brought back whole from the browser's back/forward cache.
(function () {
  "use strict";

  var DEFAULTS = { sort: "relevance" };

  function setField(field, value) {
    if (field.type === "checkbox") {
      field.checked = /^(1|true|on|yes)$/i.test(value); // what the server reads as true
    } else {
      field.value = value;
    }
  }

  function syncFromAddress() {
    var form = document.querySelector("form.search-form");
    if (!form) {
      return;
    }
    var params = new URLSearchParams(window.location.search);
    var filtered = false;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) {
        return;
      }
      var value = params.get(field.name);
      var missing = value === null || value === "";
      setField(field, missing ? DEFAULTS[field.name] || "" : value);
      if (field.name !== "q" && !missing && value !== DEFAULTS[field.name]) {
        filtered = true;
      }
    });
    // As the server renders it: the filters are shown open when one is set.
    var details = form.querySelector("details.search-filters");
    if (details && filtered) {
      details.open = true;
    }
    var siteBox = document.getElementById("site-search-q");
    if (siteBox) {
      siteBox.value = params.get("q") || "";
    }
  }

  // htmx:historyRestore comes after htmx put the snapshot (or the refetched page) in place;
  // popstate catches history entries that htmx does not restore. The listeners sit on the
  // document and window, which a restore does not replace.
  document.addEventListener("htmx:historyRestore", syncFromAddress);
  window.addEventListener("popstate", syncFromAddress);
  // Only a page from the back/forward cache: on a fresh load the server already filled the
  // form from the address, and syncing after "load" would wipe what a fast typist began.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      syncFromAddress();
    }
  });
})();
