// The reading page of a notice: once the browser really shows it (not prerendered, not in a
// background tab), post the read record with the page's CSRF token. GET records nothing.
(function () {
  "use strict";
  function send(form) {
    if (form.dataset.sent) { return; }
    form.dataset.sent = "1";
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"}
    }).then(function (resp) {
      if (resp.ok) {
        form.textContent = "既読として記録しました。";
        form.classList.add("muted");
      } else {
        delete form.dataset.sent;
      }
    });
  }
  function ready() {
    var form = document.querySelector("form[data-read-beacon]");
    if (!form) { return; }
    var tryNow = function () {
      if (document.prerendering || document.visibilityState !== "visible") { return; }
      send(form);
    };
    document.addEventListener("visibilitychange", tryNow);
    document.addEventListener("prerenderingchange", tryNow);
    tryNow();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
