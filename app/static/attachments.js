// Attachments of a draft (様式 and images): chosen in the list or the toolbar's panel, pasted or
// dropped into the body. Each upload is one commit on the draft (the server checks the file by
// its content); the form's `head` follows, so the next 保存 is not taken for someone else's.
(function () {
  "use strict";
  const box = document.querySelector("[data-attachments]");
  const body = document.getElementById("body");
  if (!box || !body) return;
  const list = box.querySelector("[data-attach-list]");
  const errorBox = box.querySelector("[data-attach-error]");
  const head = document.querySelector("input[name=head]");
  const token = document.querySelector("input[name=csrf_token]").value;
  const ed = () => window.tebikiEditor;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text != null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function showError(message, details, where) {
    const target = where || errorBox;
    target.replaceChildren(el("p", message));
    if (details && details.length) {
      const ul = el("ul");
      details.forEach((d) => ul.appendChild(el("li", d)));
      target.appendChild(ul);
    }
    target.hidden = false;
  }

  function refList(files) {
    list.replaceChildren();
    if (!files.length) {
      const tr = el("tr", null, "empty-row");
      const td = el("td", "まだ添付ファイルはありません。");
      td.colSpan = 4;
      tr.appendChild(td);
      list.appendChild(tr);
      return;
    }
    files.forEach((f) => {
      const tr = el("tr");
      tr.dataset.name = f.name;
      const a = el("a", f.name);
      a.href = f.url;
      const name = el("td");
      name.appendChild(a);
      const ops = el("td");
      const ref = el("button", "本文に挿入");
      ref.type = "button";
      ref.dataset.attachRef = "";
      const del = el("button", "削除", "danger");
      del.type = "button";
      del.dataset.attachDelete = "";
      ops.append(ref, " ", del);
      tr.append(name, el("td", f.label), el("td", f.size), ops);
      list.appendChild(tr);
    });
  }

  function reference(name, label) {
    const image = /\.(png|jpg)$/i.test(name);
    const text = (label || name.replace(/\.[^.]+$/, "")).replace(/[\[\]]/g, "");
    return (image ? "!" : "") + "[" + text + "](files/" + name + ")";
  }

  function insert(md, image) {
    const e = ed();
    if (!e) return;
    if (image) e.insertBlock(md);
    else e.replaceRange(body.selectionStart, body.selectionEnd, md);
  }

  function followed(json) {
    if (json.head) head.value = json.head;
    if (json.files) refList(json.files);
  }
  body.addEventListener("tebiki:attached", (ev) => followed(ev.detail));

  async function post(url, data) {
    data.append("csrf_token", token);
    data.append("head", head.value);
    const resp = await fetch(url, { method: "POST", body: data, credentials: "same-origin" });
    const json = await resp.json().catch(() => ({ error: resp.status === 413
      ? "ファイルが大きすぎます（上限を超えています）。" : "登録できませんでした（サーバーの応答を読めません）。" }));
    if (!resp.ok) throw Object.assign(new Error(json.error || "登録できませんでした。"), { details: json.details });
    followed(json);
    return json;
  }

  // Upload one file; its reference goes into the body (unless insertRef is false).
  async function upload(file, opts) {
    const data = new FormData();
    data.append("file", file, file.name || "image.png");
    if (opts.pasted) data.append("pasted", "1");
    if (ed()) ed().say(`「${file.name || "画像"}」を登録しています…`);
    try {
      const json = await post(box.dataset.uploadUrl, data);
      errorBox.hidden = true;
      // The link's words: what the clerk typed, else the file's own name (a pasted image: its stored name).
      const label = opts.label || (opts.pasted ? "" : (file.name || "").replace(/\.[^.]+$/, ""));
      if (opts.insertRef !== false && !json.replaced) insert(reference(json.name, label), json.image);
      if (ed()) ed().say(json.unchanged ? `「${json.name}」は登録済みのものと同じです。`
        : json.replaced ? `「${json.name}」を差し替えました（本文の参照はそのままです）。`
          : `「${json.name}」（${json.label}、${json.size}）を登録しました。`);
      return json;
    } catch (e) {
      showError(e.message, e.details, opts.errorBox);
      if (opts.errorBox) box.scrollIntoView({ block: "nearest" });
      if (ed()) ed().say("登録できませんでした。");
      return null;
    }
  }

  async function uploadAll(files, opts) {
    for (const f of files) await upload(f, opts);
  }

  box.querySelector("[data-attach-file]").addEventListener("change", async (ev) => {
    const input = ev.target;
    await uploadAll(Array.from(input.files), { insertRef: false });
    input.value = "";
  });

  list.addEventListener("click", async (ev) => {
    const row = ev.target.closest("tr[data-name]");
    if (!row) return;
    const name = row.dataset.name;
    if (ev.target.closest("[data-attach-ref]")) { insert(reference(name), /\.(png|jpg)$/i.test(name)); return; }
    if (!ev.target.closest("[data-attach-delete]")) return;
    if (!window.confirm(`添付ファイル「${name}」を削除します。本文の参照は残ります（必要なら本文から消してください）。`)) return;
    const data = new FormData();
    data.append("name", name);
    try {
      await post(box.dataset.deleteUrl, data);
      errorBox.hidden = true;
      if (ed()) ed().say(`「${name}」を削除しました。`);
    } catch (e) { showError(e.message, e.details); }
  });

  // Pasted images (editor.js hands them over) and files dropped on the body.
  body.addEventListener("tebiki:attach", (ev) => uploadAll(ev.detail.files, { pasted: ev.detail.pasted }));
  body.addEventListener("dragover", (ev) => {
    if (Array.from(ev.dataTransfer.types || []).includes("Files")) { ev.preventDefault(); body.classList.add("drop-target"); }
  });
  body.addEventListener("dragleave", () => body.classList.remove("drop-target"));
  body.addEventListener("drop", (ev) => {
    body.classList.remove("drop-target");
    if (!ev.dataTransfer.files.length) return;
    ev.preventDefault();
    body.focus();
    uploadAll(Array.from(ev.dataTransfer.files), {});
  });

  // The toolbar's 「画像・様式の挿入」 panel.
  const panel = document.querySelector("[data-panel=file]");
  const panelBtn = panel && panel.querySelector("[data-attach-insert]");
  if (panelBtn) {
    panelBtn.addEventListener("click", async () => {
      const input = panel.querySelector("[data-field=file]");
      const label = panel.querySelector("[data-field=text]");
      const err = panel.querySelector("[data-panel-error]");
      err.hidden = true;
      if (!input.files.length) { showError("登録するファイルを選んでください。", null, err); return; }
      const sel = ed().savedSelection();
      body.focus();
      body.setSelectionRange(sel[0], sel[1]);
      const done = await upload(input.files[0], { label: label.value.trim(), errorBox: err });
      if (done) {
        input.value = "";
        label.value = "";
        panel.querySelector("[data-close]").click();
      }
    });
  }
})();
