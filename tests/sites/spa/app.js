/* Renders a documentation page into #root from data/<page>.json.
   Plain ES2017, no modules, no libraries. */
(function () {
  "use strict";

  var PAGES = [
    { file: "index.html", title: "Home" },
    { file: "intro.html", title: "Introduction" },
    { file: "usage.html", title: "Usage" },
    { file: "api.html", title: "API" }
  ];

  function pageName() {
    var last = location.pathname.split("/").pop();
    var name = last.replace(/\.html$/, "");
    return name || "index";
  }

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderNav(current) {
    var nav = el("nav");
    PAGES.forEach(function (page) {
      var a = el("a", page.title);
      a.href = page.file;
      if (page.file === current + ".html") a.setAttribute("aria-current", "page");
      nav.appendChild(a);
    });
    return nav;
  }

  function renderPage(root, name, data) {
    root.appendChild(renderNav(name));
    var main = el("main");
    main.appendChild(el("h1", data.title));
    data.sections.forEach(function (section) {
      main.appendChild(el("h2", section.heading));
      section.paragraphs.forEach(function (text) {
        main.appendChild(el("p", text));
      });
      if (section.code) {
        var pre = el("pre");
        var code = el("code", section.code.text);
        code.className = "language-" + section.code.lang;
        pre.appendChild(code);
        main.appendChild(pre);
      }
    });
    root.appendChild(main);
    document.title = data.title + " — Lantern Docs";
  }

  async function load() {
    var root = document.getElementById("root");
    var name = pageName();
    try {
      var response = await fetch("data/" + name + ".json");
      if (!response.ok) throw new Error("HTTP " + response.status);
      renderPage(root, name, await response.json());
    } catch (err) {
      root.appendChild(el("p", "This page could not be loaded."));
    }
    try {
      var secret = await fetch("private/secret.json");
      if (secret.ok) {
        var body = await secret.json();
        root.appendChild(el("p", "Account: " + body.secret));
      }
    } catch (err) {
      /* private data is optional: render nothing */
    }
  }

  load();
})();
