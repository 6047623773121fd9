// LaTeX in titles, abstracts and comments, rendered by the vendored KaTeX
// (/static/vendor/katex). KaTeX (270 kB) is fetched only by a page whose text holds math,
// and its scripts come from this site alone: the CSP stays script-src 'self'. KaTeX sets
// its inline styles through the DOM (element.style), which style-src 'self' allows.
(function () {
  "use strict";
  // Not the two-line teasers of lists: KaTeX's boxes break their line clamp.
  var TARGETS = ".paper-title, #paper-title, .abstract, .comment-body, .similar-list a";
  var MATH = /\$[^$\s][^$]*\$|\\\(|\\\[/;
  var BASE = "/static/vendor/katex/";

  function targets() {
    return Array.prototype.filter.call(document.querySelectorAll(TARGETS), function (el) {
      return MATH.test(el.textContent);
    });
  }

  function load(src, done) {
    var script = document.createElement("script");
    script.src = BASE + src;
    script.onload = done;
    document.head.appendChild(script);
  }

  function render(elements) {
    elements.forEach(function (el) {
      window.renderMathInElement(el, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "\\[", right: "\\]", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false }
        ],
        throwOnError: false,
        ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"]
      });
    });
    document.documentElement.setAttribute("data-math", "rendered");
  }

  function start() {
    var elements = targets();
    if (!elements.length) return;
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = BASE + "katex.min.css";
    document.head.appendChild(css);
    load("katex.min.js", function () {
      load("auto-render.min.js", function () { render(elements); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
