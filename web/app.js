// vigil's web UI: a hash router over four pages (cameras, events, recordings,
// health) and one camera large. Plain ES modules, no build step.
import { connect, getJSON, onMessage } from './api.js';
import { camerasPage, cameraPage } from './cameras.js';
import { eventsPage } from './events.js';
import { healthPage } from './health.js';
import { recordingsPage } from './recordings.js';

const main = document.getElementById('main');
let leave = null; // the current page's cleanup

async function route() {
  if (leave) { leave(); leave = null; }
  main.replaceChildren();
  const [, page = 'cameras', arg] = location.hash.split('/');
  document.querySelectorAll('nav a').forEach((a) =>
    a.classList.toggle('active', a.dataset.page === (page === 'camera' ? 'cameras' : page)));
  try {
    if (page === 'events') leave = await eventsPage(main);
    else if (page === 'recordings') leave = await recordingsPage(main);
    else if (page === 'health') leave = await healthPage(main);
    else if (page === 'camera' && arg) leave = await cameraPage(main, decodeURIComponent(arg));
    else leave = await camerasPage(main);
  } catch (e) {
    main.replaceChildren(Object.assign(document.createElement('p'), { className: 'error', textContent: e.message }));
  }
}

async function start() {
  const session = await getJSON('/api/session');
  const logout = document.getElementById('logout');
  if (session.auth) {
    logout.hidden = false;
    logout.textContent = `Log out ${session.user || ''}`.trim();
    logout.addEventListener('click', async () => {
      await fetch('/api/logout', { method: 'POST' });
      location.href = '/login.html';
    });
  }
  const conn = document.getElementById('conn');
  onMessage('state', (s) => { conn.textContent = s; conn.className = `badge ${s === 'live' ? 'ok' : 'warn'}`; });
  connect();
  window.addEventListener('hashchange', route);
  route();
}

start().catch((e) => { main.textContent = e.message; });
