// Health and stats: per camera state, fps, drops and latency now, and small
// charts over the last hour (/api/stats/history: a sample every 10 s).
import { el, getJSON } from './api.js';
import { lineChart } from './chart.js';

async function render(box) {
  const [stats, hist, cams] = await Promise.all([getJSON('/api/stats'), getJSON('/api/stats/history'),
    getJSON('/api/cameras')]);
  const t = (s) => new Date(s.time).getTime();
  const samples = hist.samples;
  const proc = el('section', { class: 'card wide' },
    el('div', { class: 'title' }, el('strong', {}, 'vigild'),
      el('span', {}, `${stats.workers} workers · ${(stats.process.rss_bytes / 1048576).toFixed(0)} MB · ${stats.process.threads} threads`)),
    el('div', { class: 'charts' },
      lineChart('CPU', samples.map((s) => [t(s), s.cpu_percent]), ' %'),
      lineChart('memory', samples.map((s) => [t(s), s.rss_bytes / 1048576]), ' MB')));
  const cards = cams.cameras.map((c) => {
    const pts = (k) => samples.filter((s) => s.cameras[c.name]).map((s) => [t(s), s.cameras[c.name][k]]);
    const drops = samples.filter((s) => s.cameras[c.name]).map((s, i, a) =>
      [t(s), i ? Math.max(0, s.cameras[c.name].dropped - a[i - 1].cameras[c.name].dropped) : 0]);
    return el('section', { class: 'card wide', 'data-camera': c.name },
      el('div', { class: 'title' }, el('strong', {}, c.name),
        el('span', { class: `badge ${c.state === 'streaming' ? 'ok' : 'warn'}`, title: c.reason }, c.state)),
      el('p', { class: 'info' },
        `${c.fps_analysed.toFixed(1)} fps analysed of ${c.fps_decoded.toFixed(1)} decoded · ${c.dropped} dropped · ` +
        `latency p50 ${c.latency_ms.p50.toFixed(0)} ms, p99 ${c.latency_ms.p99.toFixed(0)} ms`),
      el('div', { class: 'charts' },
        lineChart('fps', pts('fps_analysed')),
        lineChart('p99', pts('p99_ms'), ' ms'),
        lineChart('drops / 10 s', drops)));
  });
  box.replaceChildren(proc, ...cards,
    el('p', { class: 'note' }, samples.length < 2 ? 'Charts fill in as samples arrive (every 10 s).' : ''));
}

export async function healthPage(main) {
  const box = el('div', { id: 'health', class: 'stack' });
  main.append(el('h1', {}, 'Health'), box);
  await render(box);
  const timer = setInterval(() => render(box).catch(() => {}), 10000);
  return () => clearInterval(timer);
}
