// The dashboard: jobs live (server-sent events), one job's results, browser upload.
// Plain ES modules, no build step and nothing fetched from the internet.

const FOOTAGE = [".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".ts",
  ".mpg", ".mpeg", ".wmv", ".3gp", ".dv", ".y4m", ".ogv"];
const STAGES = ["probe", "frames", "camera", "depth", "masks"];
const PART_TRIES = 4;
const PARALLEL_PARTS = 3;

const view = document.getElementById("view");
const live = document.getElementById("live");
const listeners = new Set(); // called with each job summary the stream sends

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(body && body.detail ? body.detail : `${response.status}`);
  return body;
}

function show(...nodes) {
  view.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function size(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
  return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function badge(state) {
  return el("span", { class: `badge ${state}`, text: state });
}

function stageChips(stages) {
  return el("div", { class: "stages", "aria-label": "stages" },
    stages.map((s) => el("span", {
      class: `stage ${s.status}`,
      title: s.error || s.status,
      text: `${s.name}${s.duration_s !== null ? ` ${s.duration_s.toFixed(1)}s` : ""} · ${s.status}`,
    })));
}

// -- live updates -------------------------------------------------------------------------

function connect() {
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => { live.textContent = "live"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting…"; });
  source.addEventListener("job", (event) => {
    const job = JSON.parse(event.data);
    for (const listener of listeners) listener(job);
  });
}

// -- jobs ---------------------------------------------------------------------------------

function jobRow(job, onRetry) {
  const retry = job.retry_possible
    ? el("button", { class: "secondary", type: "button", onclick: () => onRetry(job),
      "aria-label": `Retry ${job.key}` }, "Retry")
    : null;
  return el("tr", { "data-job": job.job_id },
    el("td", {}, el("a", { href: `#/job/${job.job_id}` }, job.shot ? `${job.shot}/${job.version}` : job.key),
      el("div", { class: "muted", text: job.key })),
    el("td", {}, badge(job.state)),
    el("td", {}, stageChips(job.stages), job.error ? el("div", { class: "error", text: job.error }) : null),
    el("td", { class: "muted", text: when(job.updated_at) }),
    el("td", {}, retry));
}

async function showJobs(params) {
  const state = params.get("state") || "";
  const shot = params.get("shot") || "";
  const page = Number(params.get("page") || 1);
  const query = new URLSearchParams({ page, per_page: 25 });
  if (state) query.set("state", state);
  if (shot) query.set("shot", shot);
  const data = await api(`/api/jobs?${query}`);
  const tbody = el("tbody");
  const retry = async (job) => {
    try {
      const updated = await api(`/api/jobs/${job.job_id}/retry`, { method: "POST" });
      update(updated);
    } catch (error) {
      alert(`Retry refused: ${error.message}`);
    }
  };
  const update = (job) => {
    const row = tbody.querySelector(`tr[data-job="${job.job_id}"]`);
    if (row) row.replaceWith(jobRow(job, retry));
    else if (page === 1 && (!state || job.state === state)
      && (!shot || (job.shot || job.key).toLowerCase().includes(shot.toLowerCase()))) {
      tbody.prepend(jobRow(job, retry));
    }
  };
  data.jobs.forEach((job) => tbody.append(jobRow(job, retry)));
  listeners.clear();
  listeners.add(update);
  const pages = Math.max(1, Math.ceil(data.total / data.per_page));
  const go = (p) => {
    const next = new URLSearchParams(params);
    next.set("page", p);
    location.hash = `#/?${next}`;
  };
  const filter = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = new URLSearchParams();
    for (const key of ["state", "shot"]) if (form.get(key)) next.set(key, form.get(key));
    location.hash = `#/?${next}`;
  };
  show(
    el("h1", { text: "Jobs" }),
    el("form", { class: "filters", onsubmit: filter, "aria-label": "Filter jobs" },
      el("label", {}, "State", el("select", { name: "state" },
        ["", "claimed", "running", "published", "failed"].map((s) =>
          el("option", { value: s, selected: s === state, text: s || "any" })))),
      el("label", {}, "Shot or key", el("input", { type: "text", name: "shot", value: shot })),
      el("button", { type: "submit" }, "Filter")),
    el("table", {},
      el("thead", {}, el("tr", {}, ["Plate", "State", "Stages", "Updated", ""].map((h) =>
        el("th", { scope: "col", text: h })))),
      tbody),
    data.total === 0 ? el("p", { class: "muted", text: "No jobs yet. Upload a plate to start one." }) : null,
    el("div", { class: "pager" },
      el("button", { type: "button", class: "secondary", disabled: page <= 1,
        onclick: () => go(page - 1) }, "Newer"),
      el("span", { class: "muted", text: `page ${page} of ${pages} · ${data.total} jobs` }),
      el("button", { type: "button", class: "secondary", disabled: page >= pages,
        onclick: () => go(page + 1) }, "Older")));
}

// -- upload -------------------------------------------------------------------------------

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
      body: JSON.stringify({ key: ticket.key, parts: etags.map((etag, i) => ({ number: i + 1, etag })) }),
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

function showUpload() {
  listeners.clear();
  const list = el("ul", { class: "uploads", "aria-live": "polite" });
  const picker = el("input", { type: "file", multiple: true, hidden: true, id: "file-input",
    accept: FOOTAGE.join(",") });
  const shot = el("input", { type: "text", name: "shot", placeholder: "from the file name" });
  const prompts = el("input", { type: "text", name: "prompts", placeholder: "person, car" });
  const stageBoxes = STAGES.map((name) => el("input", { type: "checkbox", name: "stages", value: name,
    checked: name !== "masks" }));
  const options = () => {
    const out = {};
    if (shot.value.trim()) out.shot = shot.value.trim();
    const asked = prompts.value.split(",").map((p) => p.trim()).filter(Boolean);
    if (asked.length) out.mask_prompts = asked;
    const stages = stageBoxes.filter((b) => b.checked).map((b) => b.value);
    if (stages.length !== STAGES.length - 1 || !stages.includes("depth") || stages.includes("masks")) {
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

// -- one job ------------------------------------------------------------------------------

function plot(points, axis, current, label) {
  // axis: [horizontal, vertical, flipVertical]; world Y is up, so the side view flips it.
  const [h, v, flip] = axis;
  const W = 320;
  const H = 220;
  const pad = 14;
  const xs = points.map((p) => p[h]);
  const ys = points.map((p) => (flip ? -p[v] : p[v]));
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-9);
  const sx = (x) => pad + ((x - Math.min(...xs)) / span) * (W - 2 * pad);
  const sy = (y) => pad + ((y - Math.min(...ys)) / span) * (H - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const path = document.createElementNS(ns, "polyline");
  path.setAttribute("points", points.map((p, i) => `${sx(xs[i])},${sy(ys[i])}`).join(" "));
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "#9aa4b1");
  svg.append(path);
  points.forEach((p, i) => {
    const dot = document.createElementNS(ns, p.status === "interpolated" ? "rect" : "circle");
    const x = sx(xs[i]);
    const y = sy(ys[i]);
    if (p.status === "interpolated") {
      dot.setAttribute("x", x - 3); dot.setAttribute("y", y - 3);
      dot.setAttribute("width", 6); dot.setAttribute("height", 6);
      dot.setAttribute("fill", "#fff"); dot.setAttribute("stroke", "#a15c00");
    } else {
      dot.setAttribute("cx", x); dot.setAttribute("cy", y); dot.setAttribute("r", 2.5);
      dot.setAttribute("fill", "#1f5fbf");
    }
    dot.setAttribute("class", `cam cam-${p.status}`);
    dot.setAttribute("data-index", i);
    svg.append(dot);
  });
  const marker = document.createElementNS(ns, "circle");
  marker.setAttribute("r", 6);
  marker.setAttribute("fill", "none");
  marker.setAttribute("stroke", "#b3261e");
  marker.setAttribute("stroke-width", 2);
  marker.setAttribute("class", "current");
  svg.append(marker);
  const move = (i) => {
    if (i < 0 || i >= points.length) return;
    marker.setAttribute("cx", sx(xs[i]));
    marker.setAttribute("cy", sy(ys[i]));
  };
  move(current);
  return { svg, move };
}

async function showJob(jobId) {
  const job = await api(`/api/jobs/${jobId}`);
  listeners.clear();
  listeners.add((update) => {
    if (update.job_id === jobId && update.updated_at !== job.updated_at) route();
  });
  const count = job.frame_range ? job.frame_range.last - job.frame_range.first + 1 : 0;
  const parts = [
    el("h1", {}, job.shot ? `${job.shot}/${job.version}` : job.key, " ", badge(job.state)),
    job.error ? el("p", { class: "error", role: "alert", text: job.error }) : null,
    job.retry_possible ? el("button", { type: "button", onclick: async () => {
      await api(`/api/jobs/${jobId}/retry`, { method: "POST" }).catch((e) => alert(e.message));
      route();
    } }, "Retry") : null,
  ];
  const s = job.source;
  const facts = [["Key", s.key], ["Size", size(s.size)], ["Codec", s.codec && `${s.codec} in ${s.container}`],
    ["Resolution", s.width && `${s.width} × ${s.height}`], ["Frame rate", s.fps && `${s.fps_value} (${s.fps})`],
    ["Frames", job.frame_range && `${job.frame_range.first}–${job.frame_range.last} (${count})`],
    ["Duration", s.duration_s && `${s.duration_s.toFixed(2)} s`], ["Timecode", s.timecode],
    ["Job", job.job_id], ["Attempt", `${job.attempt} of ${job.max_attempts}`]];
  parts.push(el("div", { class: "grid2" },
    el("section", { class: "card", "aria-labelledby": "facts-h" }, el("h2", { id: "facts-h", text: "Source" }),
      el("dl", { class: "facts" }, facts.filter(([, v]) => v).map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]))),
    el("section", { class: "card", "aria-labelledby": "stages-h" }, el("h2", { id: "stages-h", text: "Stages" }),
      stageChips(job.stages),
      el("ul", {}, job.stages.filter((st) => st.error).map((st) => el("li", { class: "error", text: `${st.name}: ${st.error}` }))))));

  if (count > 0) {
    const slider = el("input", { type: "range", min: 0, max: count - 1, value: 0, id: "scrub",
      "aria-label": "Frame" });
    const number = el("output", { for: "scrub", id: "frame-number", text: String(job.frame_range.first) });
    const img = (cls, alt) => el("img", { class: cls, alt });
    const frameImg = img("frame", "the frame");
    const depthImg = img("depth", "depth preview");
    const under = img("under", "the frame, under its mask");
    const maskImg = img("mask", "mask");
    const panels = el("div", { class: "panels" },
      el("figure", { class: "panel" }, el("figcaption", { text: "Frame" }), frameImg),
      job.layers.depth ? el("figure", { class: "panel" }, el("figcaption", { text: "Depth (near is white)" }), depthImg) : null,
      job.layers.mask ? el("figure", { class: "panel" }, el("figcaption", { text: `Mask: ${job.layers.mask}` }),
        el("div", { class: "overlay" }, under, maskImg)) : null);
    let plots = [];
    let pending = null;
    const showFrame = async (index) => {
      number.textContent = String(job.frame_range.first + index);
      plots.forEach((p) => p.move(index));
      pending = index;
      const links = await api(`/api/jobs/${jobId}/frames/${index}`);
      if (pending !== index) return; // a newer frame was asked for meanwhile
      if (links.frame) { frameImg.src = links.frame; under.src = links.frame; }
      if (links.depth) depthImg.src = links.depth;
      if (links.mask) maskImg.src = links.mask;
    };
    slider.addEventListener("input", () => showFrame(Number(slider.value)));
    parts.push(el("section", { "aria-labelledby": "scrub-h" }, el("h2", { id: "scrub-h", text: "Frames" }),
      el("div", { class: "scrubber" }, slider, el("span", {}, "frame ", number)), panels));
    if (job.camera && job.camera.points.length) {
      const pts = job.camera.points;
      plots = [plot(pts, ["x", "z", false], 0, "Camera path seen from above"),
        plot(pts, ["z", "y", true], 0, "Camera path seen from the side")];
      const interpolated = pts.filter((p) => p.status === "interpolated").length;
      parts.push(el("section", { "aria-labelledby": "cam-h" }, el("h2", { id: "cam-h", text: `Camera (${job.camera.kind})` }),
        el("div", { class: "plots", id: "camera-plots" },
          el("figure", {}, el("figcaption", { class: "muted", text: "Top (X, Z)" }), plots[0].svg),
          el("figure", {}, el("figcaption", { class: "muted", text: "Side (Z, Y)" }), plots[1].svg)),
        el("p", { class: "legend", text: `● solved frame  □ interpolated (${interpolated})  ◯ current frame` })));
    }
    showFrame(0);
  }

  const links = [];
  if (job.manifest) links.push(el("li", {}, el("a", { href: job.manifest.url, download: "manifest.json", id: "manifest-link" }, "Download manifest.json")));
  if (job.failure) links.push(el("li", {}, el("a", { href: job.failure.url, download: "failure.json" }, "failure.json")));
  job.files.forEach((f) => links.push(el("li", {}, el("a", { href: f.url, download: f.name }, f.name), el("span", { class: "muted", text: ` ${f.role}, ${size(f.size)}` }))));
  parts.push(el("section", { "aria-labelledby": "files-h" }, el("h2", { id: "files-h", text: "Published files" }),
    el("p", { class: "muted", text: "Links expire after an hour; reload the page for fresh ones." }),
    el("ul", {}, links),
    el("ul", {}, job.sequences.map((q) => el("li", { class: "muted", text: `${q.prefix}${q.pattern} · ${q.count} frames` })))));
  parts.push(el("section", { "aria-labelledby": "deliveries-h" }, el("h2", { id: "deliveries-h", text: "Notifications" }),
    job.deliveries.length ? el("table", {}, el("thead", {}, el("tr", {}, ["Event", "Channel", "Target", "Result", "When"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, job.deliveries.map((d) => el("tr", {}, el("td", { text: d.event }), el("td", { text: d.channel }),
        el("td", { text: d.target }), el("td", { text: d.ok ? `sent (${d.status ?? "ok"})` : `failed: ${d.error || d.status}` }),
        el("td", { text: when(d.at) })))))
      : el("p", { class: "muted", text: "None yet." })));
  show(...parts);
}

// -- routing ------------------------------------------------------------------------------

async function route() {
  const hash = location.hash || "#/";
  try {
    if (hash.startsWith("#/job/")) await showJob(decodeURIComponent(hash.slice(6)));
    else if (hash.startsWith("#/upload")) showUpload();
    else await showJobs(new URLSearchParams(hash.split("?")[1] || ""));
  } catch (error) {
    view.replaceChildren(el("p", { class: "error", role: "alert", text: `Could not load: ${error.message}` }));
  }
}

window.addEventListener("hashchange", () => { route(); view.focus(); });
connect();
route();
