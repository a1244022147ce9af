/**
 * "Check provider" on the provider page: asks the service to ask the provider now
 * (`GET /erm-usage-harvester/providers/{id}/check`) and shows what came back. Messages hold no secrets.
 */
import { api, errorText } from './api.js';
import { h, listen, replace } from './dom.js';

/** @param {boolean | undefined} v */
const yesNo = (v) => (v === undefined ? 'unknown' : v ? 'yes' : 'no');

/**
 * The button and the place its result is shown.
 * @param {string} id
 */
export function providerCheck(id) {
  const result = h('section', { class: 'card provider-check', 'aria-live': 'polite', hidden: true });
  const button = h('button', {
    type: 'button',
    class: 'btn',
    text: 'Check provider',
    title: 'Ask the provider now: reachable, credentials accepted, reports offered, release',
  });
  listen(button, 'click', async () => {
    button.setAttribute('disabled', '');
    result.removeAttribute('hidden');
    replace(result, h('p', { class: 'muted', text: 'Asking the provider…' }));
    const res = await api('GET', `/erm-usage-harvester/providers/${encodeURIComponent(id)}/check`);
    button.removeAttribute('disabled');
    if (!res.ok) {
      replace(result, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return;
    }
    replace(result, ...checkView(res.json));
  });
  return { button, el: result };
}

/** @param {any} c */
function checkView(c) {
  const good = c.checked && c.reachable && c.credentialsAccepted !== false;
  /** @type {[string, string][]} */
  const rows = [
    ['Reachable', c.checked ? yesNo(c.reachable) : 'not checked'],
    ['Credentials accepted', yesNo(c.credentialsAccepted)],
    ['Service active', yesNo(c.serviceActive)],
    ['Reports offered', c.reportsOffered ? c.reportsOffered.join(', ') || 'none' : 'unknown'],
    ['Release detected', `${c.releaseDetected ?? 'unknown'} (configured: ${c.releaseConfigured ?? '–'})`],
  ];
  if (c.reportsNotOffered?.length) rows.push(['Not offered (skipped)', c.reportsNotOffered.join(', ')]);
  return [
    h('h2', { text: 'Provider check' }),
    h('p', {
      class: `notice ${good ? 'notice-success' : 'notice-error'}`,
      text: good ? 'The provider answers.' : 'The provider needs attention.',
    }),
    h(
      'dl',
      { class: 'details check-result' },
      ...rows.map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', { 'data-check': k, text: v }))),
    ),
    h('ul', {}, ...c.messages.map((/** @type {string} */ m) => h('li', { text: m }))),
  ];
}
