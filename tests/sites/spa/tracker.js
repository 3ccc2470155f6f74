/* Analytics stand-in: fires requests a crawler should not let through.
   Every failure is swallowed so the page renders regardless.
   __SENTINEL__ is replaced by the test with http://127.0.0.1:<port>. */
(function () {
  "use strict";

  function ping(url) {
    try {
      fetch(url, { mode: "no-cors", cache: "no-store" }).catch(function () {});
    } catch (err) {
      /* ignore */
    }
  }

  ping("http://10.255.255.1/collect");
  ping("__SENTINEL__/beacon?from=spa");
})();
