// A clip player shared by the events list and the timeline: one <video>
// in a panel that a click fills. vigild stream-copies the clip and answers
// range requests, so the browser seeks without downloading it all.
import { el } from './api.js';

export function player() {
  const title = el('span', { class: 'title' });
  const video = el('video', { id: 'player', controls: true, autoplay: true, muted: true, playsinline: true,
    preload: 'auto' });
  video.muted = true; // the attribute alone does not mute an element made by script, and unmuted autoplay is refused
  const error = el('p', { class: 'error' });
  const close = el('button', { type: 'button', title: 'close' }, '×');
  const panel = el('section', { class: 'player', hidden: true }, el('div', { class: 'bar' }, title, close), video, error);
  video.addEventListener('error', () => { error.textContent = 'This clip cannot be played (no footage, or the browser lacks its codec).'; });
  close.addEventListener('click', () => { video.removeAttribute('src'); video.load(); panel.hidden = true; });
  return {
    panel,
    play(src, text, offset = 0) {
      error.textContent = '';
      title.textContent = text;
      panel.hidden = false;
      video.src = src;
      if (offset > 0) video.addEventListener('loadedmetadata', () => { video.currentTime = Math.min(offset, video.duration || offset); }, { once: true });
      video.play().catch(() => {}); // autoplay may be refused; the controls remain
      panel.scrollIntoView({ block: 'nearest' });
    },
  };
}
