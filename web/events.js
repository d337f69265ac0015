// Events: newest first, filtered by camera, label and day, more loaded as
// the list scrolls (the API's `next` cursor), new ones added live from the
// SSE stream. With recording on, the list comes from the index of
// recordings: snapshot thumbnails, and a click plays the event's clip.
// Without, vigild keeps the recent events in memory (no clips).
import { el, getJSON, localTime, onMessage } from './api.js';
import { player } from './player.js';

function duration(ev) {
  const end = ev.end ? new Date(ev.end) : new Date(ev.time);
  const s = Math.max(0, (end - new Date(ev.start)) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function row(ev, play) {
  const clip = `/api/events/${encodeURIComponent(ev.id)}/clip.mp4`;
  const attrs = { 'data-id': ev.id, class: `${ev.end ? 'ended' : 'open'}${play ? ' playable' : ''}` };
  if (play) {
    attrs.title = 'play the clip';
    attrs.onclick = () => play(clip, `${ev.label} on ${ev.camera}, ${localTime(ev.start)}`);
  }
  return el('tr', attrs,
    el('td', { class: 'thumb' }, ev.has_snapshot
      ? el('img', { src: `/api/events/${encodeURIComponent(ev.id)}/snapshot.jpg`, alt: '' })
      : el('span', { class: 'nosnap', title: 'no snapshot (cameras.NAME.snapshots.enabled)' }, '—')),
    el('td', {}, el('time', { datetime: ev.start }, localTime(ev.start))),
    el('td', {}, ev.camera),
    el('td', {}, el('strong', {}, ev.label)),
    el('td', {}, (ev.zones || []).join(', ')),
    el('td', {}, ev.end ? duration(ev) : `${duration(ev)} …`),
    el('td', {}, (ev.top_score ?? ev.score ?? 0).toFixed(2)));
}

export async function eventsPage(main) {
  const { cameras } = await getJSON('/api/cameras');
  const camera = el('select', { id: 'f-camera' }, el('option', { value: '' }, 'all cameras'),
    cameras.map((c) => el('option', { value: c.name }, c.name)));
  const label = el('input', { id: 'f-label', placeholder: 'label (person, car…)', size: 12 });
  const day = el('input', { id: 'f-day', type: 'date' });
  const note = el('p', { class: 'note' });
  const body = el('tbody', { id: 'events' });
  const table = el('table', { class: 'events' },
    el('thead', {}, el('tr', {}, ['', 'start', 'camera', 'label', 'zones', 'duration', 'score'].map((h) => el('th', {}, h)))),
    body);
  const sentinel = el('div', { class: 'sentinel' });
  const p = player();
  let play = null; // set once the list says it comes from the index (there is footage)
  main.append(el('h1', {}, 'Events'), el('form', { class: 'filters' }, camera, label, day), note, p.panel, table,
    sentinel);

  let next = null;
  let loading = false;
  let done = false;
  const query = (extra = {}) => {
    const q = new URLSearchParams({ limit: 50, ...extra });
    if (camera.value) q.set('camera', camera.value);
    if (label.value.trim()) q.set('label', label.value.trim());
    if (day.value) { // the chosen day in the browser's zone, sent as UTC
      const from = new Date(`${day.value}T00:00:00`);
      q.set('from', from.toISOString());
      q.set('to', new Date(from.getTime() + 86400000).toISOString());
    }
    return q;
  };
  const matches = (ev) => (!camera.value || ev.camera === camera.value) &&
    (!label.value.trim() || ev.label === label.value.trim()) && !day.value;

  async function more() {
    if (loading || done) return;
    loading = true;
    try {
      const j = await getJSON(`/api/events?${query(next ? { before: next } : {})}`);
      play = j.source === 'index' ? p.play : null;
      for (const ev of j.events) body.append(row(ev, play));
      next = j.next;
      done = !next;
      note.textContent = j.source === 'memory'
        ? `Nothing is recorded (record.mode): the last ${j.max_kept} events are kept in memory, without clips.`
        : 'Click an event to play its clip.';
      if (!body.children.length) body.append(el('tr', { class: 'empty' }, el('td', { colspan: 7 }, 'No events yet.')));
    } finally {
      loading = false;
    }
  }
  async function reload() {
    body.replaceChildren();
    next = null;
    done = false;
    await more();
  }
  camera.addEventListener('change', reload);
  day.addEventListener('change', reload);
  label.addEventListener('change', reload);

  const io = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) more(); });
  io.observe(sentinel);
  const off = onMessage('event', (ev) => {
    if (!matches(ev)) return;
    body.querySelector('tr.empty')?.remove();
    const old = body.querySelector(`tr[data-id="${CSS.escape(ev.id)}"]`);
    if (old) old.replaceWith(row(ev, play));
    else body.prepend(row(ev, play));
  });
  await reload();
  return () => { io.disconnect(); off(); };
}
