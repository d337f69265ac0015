// A small SVG line chart (no library: a polyline and two labels are all a
// health page needs).
const NS = 'http://www.w3.org/2000/svg';

export function lineChart(title, points, unit = '', width = 300, height = 80) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  const ys = points.map((p) => p[1]).filter((v) => Number.isFinite(v));
  const max = Math.max(1e-9, ...ys);
  const t0 = points.length ? points[0][0] : 0;
  const t1 = points.length ? points[points.length - 1][0] : 1;
  const x = (t) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * (width - 4) + 2 : width / 2);
  const y = (v) => height - 4 - (v / max) * (height - 22);
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('class', 'line');
  if (points.length === 1) { // one sample: a dot until the next one comes
    const dot = document.createElementNS(NS, 'circle');
    dot.setAttribute('cx', x(points[0][0]));
    dot.setAttribute('cy', y(points[0][1]));
    dot.setAttribute('r', 2.5);
    dot.setAttribute('class', 'dot');
    svg.append(dot);
  }
  const label = document.createElementNS(NS, 'text');
  label.setAttribute('x', 2);
  label.setAttribute('y', 12);
  const last = ys.length ? ys[ys.length - 1] : NaN;
  label.textContent = `${title}: ${Number.isFinite(last) ? last.toFixed(1) : '–'}${unit} (max ${max.toFixed(1)}${unit})`;
  const t = document.createElementNS(NS, 'title');
  t.textContent = title;
  svg.append(t, line, label);
  return svg;
}
