// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (ev) => {
  const btn = ev.target.closest("[data-confirm]");
  if (btn && !window.confirm(btn.dataset.confirm)) ev.preventDefault();
});
document.addEventListener("change", (ev) => {
  if (ev.target.matches("[data-autosubmit]")) ev.target.form.submit();
});
document.addEventListener("click", (ev) => {
  if (ev.target.closest("[data-print]")) { ev.preventDefault(); window.print(); }
  const toggle = ev.target.closest("[data-toggle-unchanged]");
  if (toggle) {
    const table = document.querySelector("table.shinkyu");
    table.classList.toggle("show-all");
    toggle.textContent = table.classList.contains("show-all") ? "変更のない節を折りたたむ" : "変更のない節もすべて表示";
  }
});

// Live preview of the Markdown editor (rendered and sanitised by the server: one renderer).
(function () {
  const body = document.querySelector("textarea[data-preview]");
  const out = document.getElementById("preview");
  if (!body || !out) return;
  const token = document.querySelector("input[name=csrf_token]").value;
  let timer = null, last = null;
  async function refresh() {
    if (body.value === last) return;
    last = body.value;
    const data = new URLSearchParams({ body: body.value, csrf_token: token });
    try {
      const resp = await fetch(body.dataset.preview, { method: "POST", body: data, credentials: "same-origin" });
      const json = await resp.json();
      out.innerHTML = json.html || ("<p class='field-error'>" + (json.error || "プレビューできません") + "</p>");
    } catch (e) { out.textContent = "プレビューを表示できません（保存には影響しません）。"; }
  }
  body.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  refresh();
})();

// Unsaved edits: warn before leaving the editor.
(function () {
  const form = document.querySelector("form.editor-form");
  if (!form) return;
  let dirty = false;
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (ev) => { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });
})();

// A posted form's buttons disable themselves after the first press (a double click sends once).
// The server is the authority (every change is a guarded write); this only spares the second
// request. Disabled after the browser has collected the form, so the pressed button's value is sent.
document.addEventListener("submit", (ev) => {
  const form = ev.target;
  if (ev.defaultPrevented || (form.method || "").toLowerCase() !== "post" || form.matches("[data-no-lock]")) return;
  setTimeout(() => {
    form.querySelectorAll("button, input[type=submit]").forEach((b) => {
      b.disabled = true;
      b.setAttribute("aria-busy", "true");
    });
  }, 0);
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("button[aria-busy=true], input[aria-busy=true]").forEach((b) => {
    b.disabled = false;
    b.removeAttribute("aria-busy");
  });
});

// On a phone a wide table scrolls inside itself: one that overflows can take the keyboard focus so it
// can be scrolled with the arrow keys (WCAG 2.1.1); one that fits is left out of the Tab order.
(function () {
  function mark() {
    document.querySelectorAll("table.list").forEach((t) => {
      if (t.scrollWidth > t.clientWidth + 1) t.setAttribute("tabindex", "0");
      else t.removeAttribute("tabindex");
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
