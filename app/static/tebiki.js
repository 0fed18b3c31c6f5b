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

// The browser's own validation bubbles speak the browser's language (often English): every field
// gets a Japanese message instead. The server checks everything again (Japanese messages too).
(function () {
  function message(el) {
    const v = el.validity;
    if (v.valueMissing) {
      if (el.type === "checkbox") return "チェックを入れてください。";
      if (el.type === "radio") return "いずれかを選択してください。";
      if (el.type === "file") return "ファイルを選択してください。";
      if (el.tagName === "SELECT") return "一覧から選択してください。";
      return "この項目を入力してください。";
    }
    if (v.typeMismatch) {
      if (el.type === "email") return "メールアドレスの形式で入力してください（例: taro@city.example.jp）。";
      if (el.type === "url") return "URLの形式で入力してください。";
      return "入力の形式が正しくありません。";
    }
    if (v.badInput) {
      if (el.type === "number") return "半角の数字で入力してください。";
      if (el.type === "date") return "日付を正しく入力してください。";
      return "入力内容が正しくありません。";
    }
    if (v.tooLong) return el.maxLength + "文字以内で入力してください。";
    if (v.tooShort) return el.minLength + "文字以上で入力してください（現在 " + el.value.length + " 文字）。";
    if (v.rangeUnderflow) return el.min + " 以上の値を入力してください。";
    if (v.rangeOverflow) return el.max + " 以下の値を入力してください。";
    if (v.stepMismatch) return "入力できる値ではありません（刻み " + (el.step || 1) + "）。";
    if (v.patternMismatch) return el.title || "入力の形式が正しくありません。";
    return "入力内容が正しくありません。";
  }
  document.addEventListener("invalid", (ev) => {
    const el = ev.target;
    if (!el.setCustomValidity || el.dataset.overLimit) return;  // the counter's message stays
    el.setCustomValidity("");
    if (!el.validity.valid) el.setCustomValidity(message(el));
  }, true);
  function clear(ev) {
    const el = ev.target;
    if (el.setCustomValidity && !el.dataset.maxChars) el.setCustomValidity("");
  }
  document.addEventListener("input", clear, true);
  document.addEventListener("change", clear, true);
})();

// A field with a limit shows a counter; text beyond the limit is kept (a paste is never cut
// silently) and marked, and the form is not sent until it fits.
(function () {
  let n = 0;
  function update(el, counter) {
    const max = Number(el.dataset.maxChars);
    const len = el.value.length;
    const over = len > max;
    counter.textContent = over
      ? len + " / " + max + " 文字（" + (len - max) + " 文字多すぎます）"
      : len + " / " + max + " 文字";
    counter.classList.toggle("field-error", over);
    counter.classList.toggle("count", !over);
    if (over) {
      el.dataset.overLimit = "1";
      el.setCustomValidity(max + "文字以内で入力してください（現在 " + len + " 文字）。");
      el.setAttribute("aria-invalid", "true");
    } else {
      delete el.dataset.overLimit;
      el.setCustomValidity("");
      if (!el.closest(".has-error")) el.removeAttribute("aria-invalid");
    }
  }
  document.querySelectorAll("input[maxlength], textarea[maxlength]").forEach((el) => {
    if (el.type === "hidden" || el.maxLength < 1) return;
    el.dataset.maxChars = el.maxLength;
    el.removeAttribute("maxlength");
    const counter = document.createElement("p");
    counter.className = "count char-count";
    counter.id = (el.id || "field-" + (++n)) + "-count";
    const described = el.getAttribute("aria-describedby");
    el.setAttribute("aria-describedby", described ? described + " " + counter.id : counter.id);
    (el.closest("label") || el).insertAdjacentElement("afterend", counter);
    update(el, counter);
    el.addEventListener("input", () => update(el, counter));
  });
})();

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
