// Talking to vigild: JSON GETs (a 401 sends the browser to the login page)
// and the Server-Sent Events stream, shared by every page.

export async function getJSON(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (r.status === 401) {
    location.href = '/login.html';
    throw new Error('not logged in');
  }
  const j = await r.json().catch(() => null);
  if (!r.ok) throw new Error((j && j.error) || `${path}: HTTP ${r.status}`);
  return j;
}

// One EventSource for the page; listeners per SSE event name ("event", "health").
const listeners = { event: new Set(), health: new Set(), state: new Set() };
let source = null;

export function onMessage(kind, fn) {
  listeners[kind].add(fn);
  return () => listeners[kind].delete(fn);
}

export function connect() {
  if (source) return;
  source = new EventSource('/api/events/stream');
  const state = (s) => listeners.state.forEach((fn) => fn(s));
  source.onopen = () => state('live');
  source.onerror = () => state(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  for (const kind of ['event', 'health']) {
    source.addEventListener(kind, (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      listeners[kind].forEach((fn) => fn(msg));
    });
  }
}

// Times: the API speaks UTC (ISO 8601); people read their own zone.
export function localTime(iso, withDate = true) {
  if (!iso) return '';
  const d = new Date(iso);
  return withDate ? d.toLocaleString() : d.toLocaleTimeString();
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}
