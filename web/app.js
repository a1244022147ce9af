/** Entry point: the tenant/token header, hash routing between the pages. */
import { getTenant, getToken, setSession } from './api.js';
import { replace } from './dom.js';
import { providersPage } from './providers.js';
import { providerPage } from './provider.js';
import { providerEditPage } from './provider-form.js';
import { aggregatorsPage, aggregatorEditPage } from './aggregators.js';
import { jobsPage } from './jobs.js';
import { schedulePage } from './schedule.js';
import { usagePage } from './usage.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const tenantInput = /** @type {HTMLInputElement} */ (document.getElementById('tenant'));
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById('token'));
const sessionForm = /** @type {HTMLFormElement} */ (document.getElementById('session-form'));

/** Called when the page is left: pages stop their timers here. */
let cleanup = () => {};

/**
 * @typedef {{ el: HTMLElement, title: string, dispose?: () => void }} Page
 */

/**
 * `#/section/id/action?filters`: the path parts (decoded) and the filters.
 * @param {string} hash
 */
export function parseHash(hash) {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [section = 'providers', id, action] = path.split('/').map((p) => decodeURIComponent(p));
  return { section: section || 'providers', id, action, params: new URLSearchParams(search) };
}

function route() {
  cleanup();
  cleanup = () => {};
  const { section, id, action, params } = parseHash(window.location.hash);
  /** @type {Page} */
  let page;
  if (section === 'providers' && id && action === 'edit') page = providerEditPage(id);
  else if (section === 'providers' && id) page = providerPage(id);
  else if (section === 'aggregators' && id) page = aggregatorEditPage(id === 'new' ? undefined : id);
  else if (section === 'aggregators') page = aggregatorsPage();
  else if (section === 'jobs') page = jobsPage(params);
  else if (section === 'schedule') page = schedulePage();
  else if (section === 'usage') page = usagePage(id, params);
  else page = providersPage(params);
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
