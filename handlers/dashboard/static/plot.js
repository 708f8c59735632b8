// The camera path as SVG: solved frames as dots, interpolated ones as hollow squares.

export function plot(points, axis, current, label) {
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

