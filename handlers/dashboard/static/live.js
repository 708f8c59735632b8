// Live updates: one EventSource; the current view registers what to do with each job.

export const listeners = new Set(); // called with each job summary the stream sends
const live = document.getElementById("live");

export function connect() {
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => { live.textContent = "live"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting…"; });
  source.addEventListener("job", (event) => {
    const job = JSON.parse(event.data);
    for (const listener of listeners) listener(job);
  });
}

