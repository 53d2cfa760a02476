// @ts-check
// The console's shell: sign-in, navigation (hash routes, so every page has a URL and the browser's
// back button works), sign-out and the idle timeout shown to the user.
import { ApiError, get, request, session, setSession } from './api.js';
import { routes } from './pages.js';
import { announce, failure, h, replace } from './ui.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const top = /** @type {HTMLElement} */ (document.getElementById('top'));

function showSignIn(message = '') {
  top.hidden = true;
  const error = h(
    'p',
    { className: 'state error', role: 'alert', id: 'signin-error', hidden: !message },
    message,
  );
  const name = h('input', { id: 'signin-name', name: 'name', autocomplete: 'username', required: true });
  const password = h('input', {
    id: 'signin-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const form = h(
    'form',
    { className: 'signin card', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to the MDM console'),
    h('label', { for: 'signin-name' }, 'Name'),
    name,
    h('label', { for: 'signin-password' }, 'Password'),
    password,
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const s = await request('POST', '/console/session', {
        name: /** @type {HTMLInputElement} */ (name).value,
        password: /** @type {HTMLInputElement} */ (password).value,
      });
      setSession(s);
      if (!location.hash || location.hash === '#/') history.replaceState(null, '', '#/dashboard');
      start();
      main.focus();
    } catch (err) {
      error.hidden = false;
      error.textContent =
        err instanceof ApiError && err.status === 429
          ? 'Too many failed sign-ins. Try again later.'
          : err instanceof ApiError && err.status === 401
            ? 'Wrong name or password.'
            : `Sign-in failed: ${err instanceof Error ? err.message : String(err)}`;
      /** @type {HTMLInputElement} */ (password).value = '';
      password.focus();
    }
  });
  replace(main, form);
  name.focus();
}

async function render() {
  if (!session) return;
  const hash = location.hash.replace(/^#\/?/, '') || 'dashboard';
  const [page, ...rest] = hash.split('/');
  const route = routes[page ?? 'dashboard'] ?? routes.dashboard;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    await route(main, rest.map(decodeURIComponent));
  } catch (err) {
    replace(main, failure(err));
  }
  announce(document.title);
}

function start() {
  if (!session) return;
  top.hidden = false;
  replace(/** @type {HTMLElement} */ (document.getElementById('who')), `${session.name} (${session.role})`);
  render();
}

// The skip link moves the focus without touching the hash (the hash is the page's route).
document.querySelector('.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => {
  render();
  main.focus();
});
window.addEventListener('mdm:signed-out', () => {
  setSession(null);
  showSignIn('Your session has ended. Sign in again.');
});
document.getElementById('sign-out')?.addEventListener('click', async () => {
  try {
    await request('DELETE', '/console/session');
  } finally {
    setSession(null);
    showSignIn('Signed out.');
  }
});

get('/console/session')
  .then((s) => {
    setSession(s);
    start();
  })
  .catch(() => showSignIn());
