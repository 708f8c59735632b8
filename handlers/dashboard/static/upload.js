// Browser upload: parts straight to the bucket, each retried on its own.

import { api, el, show, size } from "./dom.js";
import { listeners } from "./live.js";

const FOOTAGE = [".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".ts",
  ".mpg", ".mpeg", ".wmv", ".3gp", ".dv", ".y4m", ".ogv"];
const STAGES = ["probe", "frames", "camera", "depth", "masks"];
const PART_TRIES = 4;
const PARALLEL_PARTS = 3;


function isFootage(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 && FOOTAGE.includes(name.slice(dot).toLowerCase());
}

function putPart(url, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
    xhr.addEventListener("load", () => {
      const etag = xhr.getResponseHeader("ETag");
      if (xhr.status >= 200 && xhr.status < 300 && etag) resolve(etag);
      else reject(new Error(xhr.status ? `part refused (${xhr.status})` : "no ETag: check the bucket's CORS"));
    });
    xhr.addEventListener("error", () => reject(new Error("network error")));
    xhr.send(blob);
  });
}

async function uploadFile(file, options, item) {
  const bar = item.querySelector("progress");
  const status = item.querySelector(".status");
  const say = (text, isError = false) => {
    status.textContent = text;
    status.className = `status ${isError ? "error" : "muted"}`;
  };
  if (!isFootage(file.name)) {
    say(`${file.name} is not a video file; nothing was uploaded`, true);
    bar.remove();
    return;
  }
  let ticket;
  try {
    ticket = await api("/api/uploads", {
      method: "POST",
      body: JSON.stringify({ name: file.name, size: file.size, content_type: file.type || null, options }),
    });
  } catch (error) {
    say(error.message, true);
    bar.remove();
    return;
  }
  const loaded = new Array(ticket.part_urls.length).fill(0);
  const etags = new Array(ticket.part_urls.length);
  const showProgress = () => {
    const sent = loaded.reduce((a, b) => a + b, 0);
    bar.value = sent / file.size;
    say(`${size(sent)} of ${size(file.size)}`);
  };
  let next = 0;
  const worker = async () => {
    while (next < ticket.part_urls.length) {
      const index = next;
      next += 1;
      const blob = file.slice(index * ticket.part_size, (index + 1) * ticket.part_size);
      for (let attempt = 1; ; attempt += 1) {
        try {
          etags[index] = await putPart(ticket.part_urls[index], blob, (n) => {
            loaded[index] = n;
            showProgress();
          });
          loaded[index] = blob.size;
          showProgress();
          break;
        } catch (error) {
          // Only this part is sent again; the parts already in the bucket stay.
          loaded[index] = 0;
          if (attempt >= PART_TRIES) throw new Error(`part ${index + 1}: ${error.message}`);
          say(`part ${index + 1} failed (${error.message}); retrying`, true);
          await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
    const done = await api(`/api/uploads/${ticket.upload_id}/complete`, {
      method: "POST",
      body: JSON.stringify({ key: ticket.key, options,
        parts: etags.map((etag, i) => ({ number: i + 1, etag })) }),
    });
    bar.value = 1;
    say("");
    status.replaceChildren("Uploaded: ", el("a", { href: `#/job/${done.job_id}`, class: "job-link",
      text: `job ${done.job_id}` }), ` (${done.state})`);
  } catch (error) {
    say(`upload failed: ${error.message}`, true);
    api(`/api/uploads/${ticket.upload_id}?key=${encodeURIComponent(ticket.key)}`, { method: "DELETE" })
      .catch(() => {});
  }
}

export async function showUpload() {
  listeners.clear();
  const defaults = await api("/api/defaults");
  const list = el("ul", { class: "uploads", "aria-live": "polite" });
  const picker = el("input", { type: "file", multiple: true, hidden: true, id: "file-input",
    accept: FOOTAGE.join(",") });
  const shot = el("input", { type: "text", name: "shot", placeholder: "from the file name" });
  const prompts = el("input", { type: "text", name: "prompts",
    placeholder: defaults.mask_prompts.join(", ") });
  const stageBoxes = STAGES.map((name) => el("input", { type: "checkbox", name: "stages", value: name,
    checked: defaults.stages.includes(name) }));
  const options = () => {
    const out = {};
    if (shot.value.trim()) out.shot = shot.value.trim();
    const asked = prompts.value.split(",").map((p) => p.trim()).filter(Boolean);
    if (asked.length) out.mask_prompts = asked;
    // Stages go in the sidecar only when they differ from what the service runs anyway.
    const stages = stageBoxes.filter((b) => b.checked).map((b) => b.value);
    if (stages.join() !== STAGES.filter((s) => defaults.stages.includes(s)).join()) {
      out.stages = stages;
    }
    return out;
  };
  const start = (files) => {
    for (const file of files) {
      const item = el("li", {}, el("strong", { text: file.name }), el("span", { class: "muted", text: ` ${size(file.size)}` }),
        el("progress", { max: 1, value: 0, "aria-label": `upload of ${file.name}` }),
        el("div", { class: "status muted" }));
      list.append(item);
      uploadFile(file, options(), item);
    }
  };
  picker.addEventListener("change", () => start([...picker.files]));
  const zone = el("div", {
    class: "dropzone", id: "dropzone", role: "button", tabindex: "0",
    "aria-describedby": "drop-help",
    onclick: () => picker.click(),
    onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); picker.click(); } },
    ondragover: (e) => { e.preventDefault(); zone.classList.add("over"); },
    ondragleave: () => zone.classList.remove("over"),
    ondrop: (e) => { e.preventDefault(); zone.classList.remove("over"); start([...e.dataTransfer.files]); },
  }, el("strong", { text: "Drop plates here" }), el("div", { id: "drop-help", class: "muted",
    text: "or press Enter to choose files. Video files only; they go straight to the bucket's drop zone." }));
  show(
    el("h1", { text: "Upload plates" }),
    el("div", { class: "options" },
      el("label", {}, "Shot (optional)", shot),
      el("label", {}, "Mask prompts (optional)", prompts),
      el("fieldset", {}, el("legend", { class: "muted", text: "Stages" }),
        stageBoxes.map((box) => el("label", {}, box, box.value)))),
    zone, picker, list);
}

