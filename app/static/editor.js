// The clerk's editor: a toolbar that writes Markdown, tables pasted from Excel / Word become
// Markdown tables, and 「Wordから取り込む」. The body stays plain Markdown; the preview stays the
// server's renderer (tebiki.js refreshes it on every "input" event). Without this file the
// textarea works as before.
(function () {
  "use strict";
  const body = document.getElementById("body");
  const toolbar = document.querySelector("[data-editor-toolbar]");
  if (!body || !toolbar) return;
  toolbar.hidden = false;
  const status = toolbar.querySelector("[data-editor-status]");
  let statusTimer = null;

  function say(text) {
    status.textContent = text;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { status.textContent = ""; }, 8000);
  }

  // Replace body[start:end] with text, keeping the browser's undo (Ctrl+Z) where it can.
  function replaceRange(start, end, text, selStart, selEnd) {
    body.focus();
    body.setSelectionRange(start, end);
    let done = false;
    try { done = document.execCommand("insertText", false, text); } catch (e) { done = false; }
    if (!done || body.value.slice(start, start + text.length) !== text) {
      body.setRangeText(text, start, end, "end");
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }
    const a = selStart == null ? start + text.length : selStart;
    body.setSelectionRange(a, selEnd == null ? a : selEnd);
  }

  // The whole lines the selection touches.
  function lineRange() {
    const v = body.value;
    let s = body.selectionStart, e = body.selectionEnd;
    if (e > s && v[e - 1] === "\n") e -= 1;
    const start = v.lastIndexOf("\n", s - 1) + 1;
    let end = v.indexOf("\n", e);
    if (end < 0) end = v.length;
    return [start, end];
  }

  // Text inserted as its own block: blank lines around it.
  function insertBlock(text, selectFrom, selectTo) {
    const v = body.value;
    let pos = body.selectionEnd;
    const lineEnd = v.indexOf("\n", pos);
    if (v.slice(v.lastIndexOf("\n", pos - 1) + 1, pos).trim() !== "") pos = lineEnd < 0 ? v.length : lineEnd;
    const before = v.slice(0, pos);
    const after = v.slice(pos);
    const lead = before === "" ? "" : before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
    const trail = after.startsWith("\n\n") ? "" : after.startsWith("\n") ? "\n" : "\n\n";
    const full = lead + text + (after === "" ? "\n" : trail);
    const base = pos + lead.length;
    replaceRange(pos, pos, full, selectFrom == null ? null : base + selectFrom, selectTo == null ? null : base + selectTo);
  }

  // An image the draft refers to (files/…) that is not stored yet: say so instead of a broken icon.
  const preview = document.getElementById("preview");
  if (preview) {
    preview.addEventListener("error", (ev) => {
      const img = ev.target;
      if (!img || img.tagName !== "IMG") return;
      const note = document.createElement("span");
      note.className = "img-missing";
      note.textContent = `［図: ${img.alt || "図"}（${img.getAttribute("src")}）— 画像ファイルはまだ登録されていません］`;
      img.replaceWith(note);
    }, true);
  }

  // attachments.js inserts the references of uploaded files with the same editing helpers.
  window.tebikiEditor = { replaceRange, insertBlock, say, savedSelection: () => savedSel };

  const LIST = /^(\s*)(\d+[.)]|[-*+])\s+/;

  const commands = {
    heading(level) {
      const [s, e] = lineRange();
      const lines = body.value.slice(s, e).split("\n").map((line) => {
        const text = line.replace(/^#{1,6}[ \t]+/, "");
        return level > 0 && text.trim() ? "#".repeat(level) + " " + text : text;
      });
      const out = lines.join("\n");
      replaceRange(s, e, out, s, s + out.length);
    },
    bold() {
      const s = body.selectionStart, e = body.selectionEnd;
      const sel = body.value.slice(s, e);
      if (!sel) { replaceRange(s, e, "**太字**", s + 2, s + 4); return; }
      if (/^\*\*[\s\S]*\*\*$/.test(sel)) { replaceRange(s, e, sel.slice(2, -2)); return; }
      const core = sel.trim();
      const lead = sel.slice(0, sel.indexOf(core)), trail = sel.slice(sel.indexOf(core) + core.length);
      replaceRange(s, e, lead + "**" + core + "**" + trail, s + lead.length + 2, s + lead.length + 2 + core.length);
    },
    ol() { listify(true); },
    ul() { listify(false); },
    table() {
      const t = "| 項目 | 内容 | 備考 |\n| --- | --- | --- |\n|  |  |  |\n|  |  |  |";
      insertBlock(t, 2, 4);
      say("表のひな形を入れました。「|」の間に文字を入れてください。");
    },
    link() { openPanel("link"); },
    file() { openPanel("file"); },
    word() { openWordImport(); },
  };

  function listify(ordered) {
    const [s, e] = lineRange();
    const lines = body.value.slice(s, e).split("\n");
    const filled = lines.filter((l) => l.trim());
    const want = ordered ? /^\s*\d+[.)]\s+/ : /^\s*[-*+]\s+/;
    const undo = filled.length > 0 && filled.every((l) => want.test(l));
    let n = 0;
    const out = lines.map((line) => {
      if (!line.trim()) return line;
      const text = line.replace(LIST, "$1");
      if (undo) return text;
      n += 1;
      const indent = text.match(/^\s*/)[0];
      return indent + (ordered ? n + ". " : "- ") + text.slice(indent.length);
    }).join("\n");
    replaceRange(s, e, out, s, s + out.length);
  }

  toolbar.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button[data-cmd]");
    if (!btn) return;
    ev.preventDefault();
    commands[btn.dataset.cmd]();
  });
  toolbar.querySelector("select[data-cmd=heading]").addEventListener("change", (ev) => {
    const level = ev.target.value;
    ev.target.value = "";
    if (level !== "") commands.heading(parseInt(level, 10));
  });

  // --- small panels for a link and for an image / 様式 reference --------------------------------
  const panels = {};
  document.querySelectorAll("[data-panel]").forEach((p) => { panels[p.dataset.panel] = p; });
  let savedSel = [0, 0];

  function openPanel(name) {
    const panel = panels[name];
    Object.values(panels).forEach((p) => { if (p !== panel) p.hidden = true; });
    savedSel = [body.selectionStart, body.selectionEnd];
    const selected = body.value.slice(savedSel[0], savedSel[1]).trim();
    const text = panel.querySelector("[data-field=text]");
    if (text && selected && !text.value) text.value = selected;
    panel.hidden = false;
    toolbar.querySelectorAll("[aria-controls]").forEach((b) => b.setAttribute("aria-expanded", String(b.getAttribute("aria-controls") === panel.id)));
    panel.querySelector("input[type=text]").focus();
  }

  function closePanel(panel) {
    panel.hidden = true;
    panel.querySelector("[data-panel-error]").hidden = true;
    toolbar.querySelectorAll("[aria-controls]").forEach((b) => b.setAttribute("aria-expanded", "false"));
    body.focus();
  }

  function panelError(panel, text) {
    const el = panel.querySelector("[data-panel-error]");
    el.textContent = text;
    el.hidden = false;
  }

  function mdText(s) { return s.replace(/([\\[\]])/g, "\\$1"); }
  function mdUrl(s) { return /[\s()<>]/.test(s) ? "<" + s.replace(/[<>]/g, "") + ">" : s; }

  Object.values(panels).forEach((panel) => {
    panel.addEventListener("click", (ev) => {
      if (ev.target.closest("[data-close]")) { closePanel(panel); return; }
      const ins = ev.target.closest("[data-insert]");
      if (!ins || ins.dataset.insert !== "link") return;  // the file panel: attachments.js
      const text = panel.querySelector("[data-field=text]").value.trim();
      let md;
      {
        const url = panel.querySelector("[data-field=url]").value.trim();
        if (!/^(https?:\/\/|mailto:|\/|#)/i.test(url)) { panelError(panel, "リンク先は https:// で始まる URL か、/manuals/識別名 の形で入力してください。"); return; }
        md = "[" + mdText(text || url) + "](" + mdUrl(url) + ")";
      }
      panel.querySelectorAll("input[type=text]").forEach((i) => { i.value = ""; });
      closePanel(panel);
      body.setSelectionRange(savedSel[0], savedSel[1]);
      replaceRange(savedSel[0], savedSel[1], md);
    });
    panel.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") closePanel(panel);
      const ins = panel.querySelector("[data-insert]");
      if (ev.key === "Enter" && ins && ev.target.matches("input[type=text]")) { ev.preventDefault(); ins.click(); }
    });
  });

  // --- tables pasted from Excel (tab-separated) or Word (HTML) ---------------------------------
  function cellText(s) {
    const t = s.replace(/\u00a0/g, " ").replace(/\s*[\r\n]+\s*/g, " ").replace(/[ \t]+/g, " ").trim();
    return t.replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
  }

  function rowsFromHtml(html) {
    const doc = new DOMParser().parseFromString(html, "text/html"); // inert: nothing runs or loads
    const table = doc.querySelector("table");
    if (!table) return null;
    const grid = [];
    const spans = [];
    table.querySelectorAll("tr").forEach((tr) => {
      if (tr.closest("table") !== table) return;
      const row = [];
      let col = 0;
      const fill = () => { while (spans[col] > 0) { spans[col] -= 1; row.push(""); col += 1; } };
      Array.from(tr.children).filter((c) => c.tagName === "TD" || c.tagName === "TH").forEach((cell) => {
        fill();
        const cs = Math.min(parseInt(cell.getAttribute("colspan") || "1", 10) || 1, 50);
        const rs = Math.min(parseInt(cell.getAttribute("rowspan") || "1", 10) || 1, 500);
        row.push(cellText(cell.textContent || ""));
        for (let k = 0; k < cs; k++) {
          if (k) row.push("");
          if (rs > 1) spans[col + k] = rs - 1;
        }
        col += cs;
      });
      fill();
      for (let c = col; c < spans.length; c++) { if (spans[c] > 0) { spans[c] -= 1; row.push(""); } }
      grid.push(row);
    });
    return grid.length ? grid : null;
  }

  // Excel's clipboard text: tab-separated, a cell with a line break or a quote is "quoted".
  function rowsFromTsv(text) {
    const rows = [[]];
    let cell = "", i = 0, quoted = false;
    text = text.replace(/\r\n?/g, "\n");
    while (i < text.length) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        if (ch === '"') { quoted = false; i += 1; continue; }
        cell += ch; i += 1; continue;
      }
      if (ch === '"' && cell === "") { quoted = true; i += 1; continue; }
      if (ch === "\t") { rows[rows.length - 1].push(cellText(cell)); cell = ""; i += 1; continue; }
      if (ch === "\n") { rows[rows.length - 1].push(cellText(cell)); cell = ""; rows.push([]); i += 1; continue; }
      cell += ch; i += 1;
    }
    rows[rows.length - 1].push(cellText(cell));
    while (rows.length && rows[rows.length - 1].every((c) => c === "")) rows.pop();
    return rows;
  }

  function markdownTable(rows) {
    const width = Math.max(...rows.map((r) => r.length));
    const line = (r) => "| " + Array.from({ length: width }, (_, k) => r[k] || " ").join(" | ") + " |";
    return [line(rows[0]), "| " + Array(width).fill("---").join(" | ") + " |", ...rows.slice(1).map(line)].join("\n");
  }

  body.addEventListener("paste", (ev) => {
    const cd = ev.clipboardData;
    if (!cd) return;
    const html = cd.getData("text/html");
    const text = cd.getData("text/plain");
    let rows = null;
    if (html && /<table[\s>]/i.test(html)) {
      rows = rowsFromHtml(html);
      if (rows && rows.length < 2 && (rows[0] || []).length < 2) rows = null;
    }
    if (!rows && text && text.includes("\t")) {
      const tsv = rowsFromTsv(text);
      if (tsv.length >= 2 && Math.max(...tsv.map((r) => r.length)) >= 2) rows = tsv;
    }
    if (!rows) {
      const images = Array.from(cd.items || []).filter((it) => it.kind === "file" && it.type.startsWith("image/"));
      if (images.length && !text) {
        ev.preventDefault();
        // attachments.js uploads it into the draft and inserts ![…](files/image-NN.png).
        body.dispatchEvent(new CustomEvent("tebiki:attach", { detail: { files: images.map((it) => it.getAsFile()), pasted: true } }));
      }
      return;
    }
    ev.preventDefault();
    insertBlock(markdownTable(rows));
    say(`表を貼り付けました（${rows.length}行×${Math.max(...rows.map((r) => r.length))}列。1行目が見出しの行になります）。`);
  });

  // --- Wordから取り込む --------------------------------------------------------------------------
  const importer = document.querySelector("[data-word-import]");
  let converted = null;

  function openWordImport() {
    if (!importer) return;
    importer.hidden = false;
    const btn = toolbar.querySelector("[data-cmd=word]");
    if (btn) btn.setAttribute("aria-expanded", "true");
    importer.scrollIntoView({ block: "start" });
    importer.querySelector("[data-word-file]").focus();
  }

  function closeWordImport() {
    importer.hidden = true;
    importer.querySelector("[data-word-review]").hidden = true;
    importer.querySelector("[data-word-error]").hidden = true;
    const btn = toolbar.querySelector("[data-cmd=word]");
    if (btn) btn.setAttribute("aria-expanded", "false");
    converted = null;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text != null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  if (importer) {
    const errorBox = importer.querySelector("[data-word-error]");
    const review = importer.querySelector("[data-word-review]");
    const convertBtn = importer.querySelector("[data-word-convert]");
    const showError = (message, details) => {
      errorBox.replaceChildren(el("p", message));
      if (details && details.length) {
        const ul = el("ul");
        details.forEach((d) => ul.appendChild(el("li", d)));
        errorBox.appendChild(ul);
      }
      errorBox.hidden = false;
      review.hidden = true;
    };
    const storeWordImages = async () => {
      const data = new FormData();
      data.append("file", importer.querySelector("[data-word-file]").files[0]);
      data.append("csrf_token", document.querySelector("input[name=csrf_token]").value);
      data.append("head", document.querySelector("input[name=head]").value);
      const resp = await fetch(importer.dataset.filesUrl, { method: "POST", body: data, credentials: "same-origin" });
      const json = await resp.json().catch(() => ({ error: "画像を添付できませんでした（サーバーの応答を読めません）。" }));
      if (!resp.ok) { showError(json.error || "画像を添付できませんでした。", json.details); return null; }
      body.dispatchEvent(new CustomEvent("tebiki:attached", { detail: json }));
      return json;
    };
    importer.addEventListener("click", async (ev) => {
      if (ev.target.closest("[data-word-close]")) { closeWordImport(); body.focus(); return; }
      const apply = ev.target.closest("[data-word-apply]");
      if (apply && converted) {
        let md = converted.markdown;
        if (converted.files.length && importer.dataset.filesUrl) {
          // The images go into the draft now (one commit); the Markdown names them as stored there.
          const stored = await storeWordImages();
          if (!stored) return;
          md = stored.markdown;
        }
        if (apply.dataset.wordApply === "replace") replaceRange(0, body.value.length, md, 0, 0);
        else {
          const v = body.value;
          const sep = v === "" ? "" : v.endsWith("\n\n") ? "" : v.endsWith("\n") ? "\n" : "\n\n";
          replaceRange(v.length, v.length, sep + md);
        }
        closeWordImport();
        body.scrollIntoView({ block: "start" });
        say("Word の内容を本文に入れました。確認して「保存」してください（まだ保存されていません）。");
        return;
      }
      if (!ev.target.closest("[data-word-convert]")) return;
      converted = null;
      const input = importer.querySelector("[data-word-file]");
      if (!input.files.length) { showError("取り込む Word 文書（.docx）を選んでください。"); return; }
      const data = new FormData();
      data.append("file", input.files[0]);
      data.append("csrf_token", document.querySelector("input[name=csrf_token]").value);
      if (importer.dataset.revisionId) data.append("revision_id", importer.dataset.revisionId);
      convertBtn.disabled = true;
      convertBtn.textContent = "変換しています…";
      try {
        const resp = await fetch(importer.dataset.url, { method: "POST", body: data, credentials: "same-origin" });
        const json = await resp.json().catch(() => ({ error: "変換できませんでした（サーバーの応答を読めません）。" }));
        if (!resp.ok) { showError(json.error || "変換できませんでした。", json.details); return; }
        converted = json;
        errorBox.hidden = true;
        const report = importer.querySelector("[data-word-report]");
        report.replaceChildren();
        if (json.warnings.length) {
          report.appendChild(el("h3", `そのまま取り込めなかったもの・確認してほしいこと（${json.warnings.length}件）`));
          const ul = el("ul", null, "word-warnings");
          json.warnings.forEach((w) => ul.appendChild(el("li", w)));
          report.appendChild(ul);
        } else {
          report.appendChild(el("p", "すべての内容を取り込みました。", "word-ok"));
        }
        if (json.files.length) {
          report.appendChild(el("h3", `取り出した画像（${json.files.length}点）`));
          const ul = el("ul", null, "word-files");
          json.files.forEach((f) => ul.appendChild(el("li", `files/${f.name}（${f.label}、${f.size}）`)));
          report.appendChild(ul);
          report.appendChild(el("p", importer.dataset.filesUrl ? "本文に入れると、画像はこの改正案の添付ファイルとして保存されます。"
            : "画像は本文に files/… の参照として入ります。画像の添付は、一度保存したあとの編集画面でできます。", "hint"));
        }
        // The server rendered and sanitised this HTML (app/markdown.py), as for the live preview.
        importer.querySelector("[data-word-preview]").innerHTML = json.html;
        importer.querySelector("[data-word-markdown]").textContent = json.markdown;
        review.hidden = false;
        review.scrollIntoView({ block: "start" });
      } catch (e) {
        showError("変換できませんでした（通信に失敗しました）。本文には何も変更していません。");
      } finally {
        convertBtn.disabled = false;
        convertBtn.textContent = "変換して確認する";
      }
    });
  }
})();
