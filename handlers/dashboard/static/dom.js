// Small DOM and API helpers shared by the dashboard's views.

export const view = document.getElementById("view");

export function el(tag, attrs = {}, ...children) {
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

export async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(body && body.detail ? body.detail : `${response.status}`);
  return body;
}

export function show(...nodes) {
  view.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function size(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
  return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function badge(state) {
  return el("span", { class: `badge ${state}`, text: state });
}

export function cameraBadge(review) {
  // The camera solve's verdict: "ok", reasons to check it, or nothing when it did not run.
  if (review === null || review === undefined) return null;
  if (review === "ok") {
    return el("span", { class: "badge camera-ok", title: "nothing in the solve's own measurements asks for a check", text: "camera ok" });
  }
  return el("span", { class: "badge camera-check", title: review.join("\n") },
    "camera: check", el("span", { class: "sr-only", text: ` (${review.join("; ")})` }));
}

export function stageChips(stages) {
  return el("div", { class: "stages", "aria-label": "stages" },
    stages.map((s) => el("span", {
      class: `stage ${s.status}`,
      title: s.error || s.status,
      text: `${s.name}${s.duration_s !== null ? ` ${s.duration_s.toFixed(1)}s` : ""} · ${s.status}`,
    })));
}

