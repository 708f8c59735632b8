// The dashboard: jobs live (server-sent events), one job's results, browser upload.
// Plain ES modules, no build step and nothing fetched from the internet.

import { el, view } from "./dom.js";
import { showJob } from "./job.js";
import { showJobs } from "./jobs.js";
import { connect } from "./live.js";
import { showUpload } from "./upload.js";

async function route() {
  const hash = location.hash || "#/";
  try {
    if (hash.startsWith("#/job/")) await showJob(decodeURIComponent(hash.slice(6)));
    else if (hash.startsWith("#/upload")) await showUpload();
    else await showJobs(new URLSearchParams(hash.split("?")[1] || ""));
  } catch (error) {
    view.replaceChildren(el("p", { class: "error", role: "alert", text: `Could not load: ${error.message}` }));
  }
}

window.addEventListener("hashchange", () => { route(); view.focus(); });
connect();
route();
