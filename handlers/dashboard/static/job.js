// One job's page: source, stages, scrubber with its layers, camera plots, files.

import { api, badge, cameraBadge, el, show, size, stageChips, when } from "./dom.js";
import { listeners } from "./live.js";
import { plot } from "./plot.js";

const signature = (job) => JSON.stringify([job.state, job.stages]);
const fixed = (x, digits) => (x === null || x === undefined ? null : Number(x).toFixed(digits));

function cameraVerdict(v) {
  // The solve's verdict with every reason in full, and the measurements behind it.
  const ok = v.review === "ok";
  const range = v.focal_range_px ? `, anything from ${fixed(v.focal_range_px[0], 0)} to ${fixed(v.focal_range_px[1], 0)} px fits` : "";
  const p50 = fixed(v.reprojection_p50_px, 2);
  const p90 = fixed(v.reprojection_p90_px, 2);
  const frontend = v.frontend && (v.fallback_reason ? `${v.frontend} (fell back: ${v.fallback_reason})` : v.frontend);
  const rows = [["Solve", v.solve],
    ["Focal length", `${fixed(v.focal_length_px, 0)} px (${v.focal_source})${range}`],
    ["Parallax", v.parallax_deg !== null && `${fixed(v.parallax_deg, 2)}°`],
    ["Reprojection p50 / p90", p50 !== null && `${p50} / ${p90 ?? "–"} px`],
    ["Tracks per frame", v.tracks_per_frame !== null && fixed(v.tracks_per_frame, 0)],
    ["Interpolated frames", `${v.interpolated_frames} of ${v.frames}`],
    ["Front end", frontend]];
  return el("section", { class: "card verdict", id: "camera-verdict", "aria-labelledby": "verdict-h" },
    el("h2", { id: "verdict-h" }, "Camera solve ", cameraBadge(v.review)),
    ok ? el("p", { class: "muted", text: "Nothing in the solve's own measurements asks for a check." })
      : el("ul", { class: "reasons", "aria-label": "why to check the solve" }, v.review.map((r) => el("li", { text: r }))),
    el("table", { class: "evidence" }, el("tbody", {}, rows.filter(([, value]) => value)
      .map(([k, value]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: value }))))));
}

export async function showJob(jobId) {
  const job = await api(`/api/jobs/${jobId}`);
  listeners.clear();
  listeners.add((update) => {
    // Redraw only when the state or a stage changed: a recorded notification, say,
    // must not reset the scrubber under the user's hand.
    if (update.job_id === jobId && signature(update) !== signature(job)) showJob(jobId);
  });
  const count = job.frame_range ? job.frame_range.last - job.frame_range.first + 1 : 0;
  const parts = [
    el("h1", {}, job.shot ? `${job.shot}/${job.version}` : job.key, " ", badge(job.state)),
    job.error ? el("p", { class: "error", role: "alert", text: job.error }) : null,
    job.retry_possible ? el("button", { type: "button", onclick: async () => {
      await api(`/api/jobs/${jobId}/retry`, { method: "POST" }).catch((e) => alert(e.message));
      showJob(jobId);
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
  if (job.camera_verdict) parts.push(cameraVerdict(job.camera_verdict));

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

