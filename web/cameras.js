// The camera grid (a still per camera, refreshed as fast as it loads, with
// the detector's boxes; a state badge) and one camera large (live MJPEG).
import { el, getJSON, onMessage } from './api.js';

const badgeClass = (state) => (state === 'streaming' ? 'ok' : state === 'failed' || state === 'eof' ? 'bad' : 'warn');

function badge(cam) {
  return el('span', { class: `badge ${badgeClass(cam.state)}`, title: cam.reason || '' }, cam.state);
}

function stats(cam) {
  const p = cam.latency_ms || {};
  return `${cam.width}×${cam.height} · ${cam.fps_analysed.toFixed(1)} fps · ${cam.dropped} dropped · p50 ${p.p50.toFixed(0)} ms`;
}

// Keeps an <img> showing the camera's latest frame: the next request leaves
// when the last one has loaded (a grid of N cameras holds at most N short
// requests, not N streams: browsers allow only six connections per host).
function refresher(img, name, width) {
  let stopped = false;
  let timer = null;
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      img.src = `/api/cameras/${encodeURIComponent(name)}/latest.jpg?boxes=1&width=${width}&t=${Date.now()}`;
    }, 250);
  };
  img.addEventListener('load', next);
  img.addEventListener('error', () => { if (!stopped) timer = setTimeout(next, 2000); });
  img.src = `/api/cameras/${encodeURIComponent(name)}/latest.jpg?boxes=1&width=${width}&t=${Date.now()}`;
  return () => { stopped = true; clearTimeout(timer); img.removeAttribute('src'); };
}

export async function camerasPage(main) {
  const { cameras } = await getJSON('/api/cameras');
  const grid = el('section', { class: 'grid', id: 'grid' });
  main.append(el('h1', {}, 'Cameras'), grid);
  if (!cameras.length) grid.append(el('p', {}, 'No cameras configured.'));
  const stops = [];
  const cards = new Map();
  for (const cam of cameras) {
    const img = el('img', { class: 'live', alt: `live view of ${cam.name}`, 'data-camera': cam.name });
    const info = el('div', { class: 'info' }, stats(cam));
    const b = badge(cam);
    const card = el('a', { class: 'card', href: `#/camera/${encodeURIComponent(cam.name)}` },
      el('div', { class: 'title' }, el('strong', {}, cam.name), b), img, info);
    grid.append(card);
    cards.set(cam.name, { b, info });
    stops.push(refresher(img, cam.name, 640));
  }
  const poll = setInterval(async () => {
    try {
      const j = await getJSON('/api/cameras');
      for (const cam of j.cameras) {
        const c = cards.get(cam.name);
        if (!c) continue;
        c.b.replaceWith(c.b = badge(cam));
        c.info.textContent = stats(cam);
      }
    } catch { /* the SSE badge says when vigild is gone */ }
  }, 5000);
  const off = onMessage('health', (m) => {
    const c = cards.get(m.camera);
    if (c) c.b.replaceWith(c.b = badge(m));
  });
  return () => { stops.forEach((s) => s()); clearInterval(poll); off(); };
}

export async function cameraPage(main, name) {
  const { cameras } = await getJSON('/api/cameras');
  const cam = cameras.find((c) => c.name === name);
  if (!cam) throw new Error(`no camera '${name}'`);
  const img = el('img', { class: 'live large', alt: `live view of ${name}`,
    src: `/api/cameras/${encodeURIComponent(name)}/live.mjpeg?boxes=1` });
  let b = badge(cam);
  const title = el('h1', {}, el('a', { href: '#/cameras' }, 'Cameras'), ` / ${name} `, b);
  const info = el('p', { class: 'info' }, stats(cam), cam.reason ? ` · ${cam.reason}` : '');
  main.append(title, img, info);
  const off = onMessage('health', (m) => { if (m.camera === name) b.replaceWith(b = badge(m)); });
  // leaving the page must close the stream, or the browser keeps it open
  return () => { img.removeAttribute('src'); img.src = 'data:,'; off(); };
}
