// The jobs list: filters, pages, live rows, retry.

import { api, badge, cameraBadge, el, show, stageChips, when } from "./dom.js";
import { listeners } from "./live.js";

function jobRow(job, onRetry) {
  const retry = job.retry_possible
    ? el("button", { class: "secondary", type: "button", onclick: () => onRetry(job),
      "aria-label": `Retry ${job.key}` }, "Retry")
    : null;
  return el("tr", { "data-job": job.job_id },
    el("td", {}, el("a", { href: `#/job/${job.job_id}` }, job.shot ? `${job.shot}/${job.version}` : job.key),
      el("div", { class: "muted", text: job.key })),
    el("td", { class: "state" }, badge(job.state), cameraBadge(job.camera_review)),
    el("td", {}, stageChips(job.stages), job.error ? el("div", { class: "error", text: job.error }) : null),
    el("td", { class: "muted", text: when(job.updated_at) }),
    el("td", {}, retry));
}

export async function showJobs(params) {
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

