// Recordings: per camera, a timeline of the recorded segments (gaps show as
// holes) with the events as marks, over the last 10 minutes, hour, 6 hours or day.
// A click on the timeline plays the footage from that moment; a click on a
// mark plays the event's clip. Refreshed every 10 s.
import { el, getJSON, localTime } from './api.js';
import { player } from './player.js';

const SPANS = { '10 minutes': 600e3, '1 hour': 3600e3, '6 hours': 6 * 3600e3, '24 hours': 86400e3 };
const CLIP_MS = 10 * 60e3; // footage played from a click: up to 10 min

function pct(t, from, to) { return `${(100 * (t - from) / (to - from)).toFixed(3)}%`; }

// Placed through the CSSOM: the page's Content-Security-Policy refuses style attributes.
function place(e, left, width) {
  e.style.left = left;
  if (width) e.style.width = width;
  return e;
}

function timeline(cam, events, from, to, p) {
  const track = el('div', { class: 'track', 'data-camera': cam.name, title: 'click to play from that moment' });
  for (const s of cam.segments) {
    const a = Math.max(from, Date.parse(s.start));
    const b = Math.min(to, Date.parse(s.end));
    if (b <= a) continue;
    track.append(place(el('div', { class: `seg ${s.mode}` }), pct(a, from, to), pct(b - a + from, from, to)));
  }
  for (const ev of events) {
    const t = Date.parse(ev.start);
    if (t < from || t > to) continue;
    track.append(place(el('button', {
      type: 'button', class: 'mark', 'data-id': ev.id,
      title: `${ev.label} at ${localTime(ev.start)}`,
      onclick: (e) => {
        e.stopPropagation();
        p.play(`/api/events/${encodeURIComponent(ev.id)}/clip.mp4`, `${ev.label} on ${ev.camera}, ${localTime(ev.start)}`);
      },
    }), pct(t, from, to)));
  }
  track.addEventListener('click', (e) => {
    const r = track.getBoundingClientRect();
    const t = from + (to - from) * Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    const end = Math.min(t + CLIP_MS, Date.now());
    if (end - t < 1000) return;
    const q = new URLSearchParams({ from: new Date(t).toISOString(), to: new Date(end).toISOString() });
    p.play(`/api/recordings/${encodeURIComponent(cam.name)}/clip.mp4?${q}`, `${cam.name} from ${localTime(new Date(t).toISOString())}`);
  });
  const recorded = cam.segments.reduce((n, s) => n + Date.parse(s.end) - Date.parse(s.start), 0) / 1000;
  return el('div', { class: 'card timeline' },
    el('div', { class: 'title' }, el('strong', {}, cam.name),
      el('span', { class: 'info' }, `${cam.segments.length} segments, ${Math.round(recorded)} s recorded, ` +
        `${cam.gaps.length} gaps, ${events.length} events`)),
    track,
    el('div', { class: 'axis' }, el('span', {}, localTime(new Date(from).toISOString())),
      el('span', {}, localTime(new Date((from + to) / 2).toISOString(), false)),
      el('span', {}, localTime(new Date(to).toISOString(), false))));
}

export async function recordingsPage(main) {
  const span = el('select', { id: 'f-span' }, Object.keys(SPANS).map((k) => el('option', { value: SPANS[k] }, k)));
  const list = el('div', { class: 'stack', id: 'timelines' });
  const p = player();
  main.append(el('h1', {}, 'Recordings'), el('form', { class: 'filters' }, span), p.panel, list);

  async function draw() {
    const to = Date.now();
    const from = to - Number(span.value);
    const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    const [rec, evs] = await Promise.all([getJSON(`/api/recordings?${q}`), getJSON(`/api/events?${q}&limit=500`)]);
    const cams = rec.cameras;
    list.replaceChildren(...cams.map((c) => timeline(c, evs.events.filter((e) => e.camera === c.name), from, to, p)));
    if (!cams.length) list.append(el('p', { class: 'note' }, 'Nothing recorded in this span (cameras.NAME.record.mode).'));
  }
  span.addEventListener('change', draw);
  await draw();
  const timer = setInterval(() => draw().catch(() => {}), 10000);
  return () => clearInterval(timer);
}
