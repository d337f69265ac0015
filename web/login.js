// The login page: POST /api/login sets the session cookie (HttpOnly,
// SameSite=Strict), then back to the UI.
const form = document.getElementById('login');
const error = document.getElementById('error');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.textContent = '';
  const body = JSON.stringify({ user: form.user.value, password: form.password.value });
  try {
    const r = await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    if (r.ok) {
      location.href = '/';
      return;
    }
    const j = await r.json().catch(() => ({}));
    error.textContent = j.error || `login failed (${r.status})`;
  } catch (e) {
    error.textContent = `cannot reach vigild: ${e.message}`;
  }
});
