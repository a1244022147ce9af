/** Entry point: the tenant/token header, hash routing between the pages. */
import { getTenant, getToken, setSession } from './api.js';
import { replace } from './dom.js';
import { providersPage } from './providers.js';
import { providerPage } from './provider.js';
import { jobsPage } from './jobs.js';
import { schedulePage } from './schedule.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const tenantInput = /** @type {HTMLInputElement} */ (document.getElementById('tenant'));
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById('token'));
const sessionForm = /** @type {HTMLFormElement} */ (document.getElementById('session-form'));

/** Called when the page is left: pages stop their timers here. */
let cleanup = () => {};

/**
 * @typedef {{ el: HTMLElement, title: string, dispose?: () => void }} Page
 */

function route() {
  cleanup();
  cleanup = () => {};
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [section = 'providers', id] = hash.split('/').map((p) => decodeURIComponent(p));
  /** @type {Page} */
  let page;
  if (section === 'providers' && id) page = providerPage(id);
  else if (section === 'jobs') page = jobsPage();
  else if (section === 'schedule') page = schedulePage();
  else page = providersPage();
  for (const link of document.querySelectorAll('[data-nav]')) {
    const current = /** @type {HTMLElement} */ (link).dataset.nav === (section || 'providers');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${page.title} · ERM usage harvester`;
  replace(main, page.el);
  cleanup = page.dispose ?? (() => {});
}

tenantInput.value = getTenant();
tokenInput.value = getToken();
sessionForm.addEventListener('submit', (event) => {
  event.preventDefault();
  setSession(tenantInput.value, tokenInput.value);
  tenantInput.value = getTenant();
  route();
  main.focus();
});

window.addEventListener('hashchange', () => {
  route();
  main.focus();
});
if (!window.location.hash) window.history.replaceState(null, '', '#/providers');
route();
