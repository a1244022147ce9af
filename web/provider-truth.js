/**
 * Two cards of the provider page: "Harvest again" (months or a range, also when stored, no delete)
 * and the diagnostics kept on the provider's months (counts per code, the months that have them).
 */
import { api, errorText, qs } from './api.js';
import { dataTable, h, listen, replace } from './dom.js';
import { harvestAgain, lastCompleteMonth, monthLabel } from './months.js';

/**
 * @param {any} provider
 * @param {(message: string, kind: 'success' | 'error', harvesting: boolean) => void} onDone
 */
export function harvestAgainCard(provider, onDone) {
  const last = lastCompleteMonth();
  const from = h('input', { type: 'month', id: 'again-from', name: 'from', required: '', value: last });
  const to = h('input', { type: 'month', id: 'again-to', name: 'to', value: last });
  const reports = h('input', {
    type: 'text',
    id: 'again-reports',
    name: 'reports',
    placeholder: (provider.harvestingConfig?.requestedReports ?? []).join(',') || 'TR,DR',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Harvest again' });
  const form = h(
    'form',
    { class: 'again-form', id: 'again-form' },
    h('label', { for: 'again-from', text: 'From' }),
    from,
    h('label', { for: 'again-to', text: 'To' }),
    to,
    h('label', { for: 'again-reports', text: 'Reports (empty: all requested)' }),
    reports,
    h('div', { class: 'form-actions' }, submit),
  );
  listen(form, 'submit', async (event) => {
    event.preventDefault();
    const f = /** @type {HTMLInputElement} */ (from).value;
    const t = /** @type {HTMLInputElement} */ (to).value || f;
    const list = /** @type {HTMLInputElement} */ (reports).value
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '');
    submit.setAttribute('disabled', '');
    const result = await harvestAgain(provider.id, f, t, list);
    submit.removeAttribute('disabled');
    onDone(
      result.ok
        ? `${result.message} (${monthLabel(f)}${t !== f ? ` – ${monthLabel(t)}` : ''})`
        : result.message,
      result.ok ? 'success' : 'error',
      result.ok,
    );
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'again-title' },
    h('h2', { id: 'again-title', text: 'Harvest again' }),
    h('p', {
      class: 'hint',
      text:
        'Requests these months again even when they are stored, without deleting them. A month whose ' +
        'items did not change stays as it is; a month the provider restated is replaced and the change ' +
        'is recorded; a failed or empty answer never replaces stored usage.',
    }),
    form,
  );
}

/**
 * The diagnostics of a provider's months, loaded when the card is shown.
 * @param {string} providerId
 */
export function diagnosticsCard(providerId) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'diagnostics-title', id: 'diagnostics' },
    h('h2', { id: 'diagnostics-title', text: 'Diagnostics' }),
    body,
  );
  async function load() {
    const res = await api('GET', `/erm-usage-harvester/diagnostics?${qs({ providerId })}`);
    if (!res.ok) {
      replace(body, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return;
    }
    const d = res.json;
    if (d.monthsWithDiagnostics === 0) {
      replace(body, h('p', { class: 'muted', text: `No diagnostics on the ${d.months} stored months.` }));
      return;
    }
    const codes = Object.entries(d.codes).map(([code, c]) =>
      h(
        'tr',
        {},
        h('td', { class: 'mono', text: code }),
        h('td', { text: String(/** @type {any} */ (c).count) }),
        h('td', { text: String(/** @type {any} */ (c).months) }),
      ),
    );
    const months = d.records.map((/** @type {any} */ m) =>
      h(
        'tr',
        {},
        h('td', { text: m.reportName }),
        h('td', { text: m.yearMonth }),
        h('td', { text: m.release }),
        h('td', { text: m.content }),
        h(
          'td',
          {},
          m.diagnostics.map((/** @type {any} */ x) =>
            h('div', { title: x.message, text: `${x.code} ×${x.count}: ${x.message}` }),
          ),
        ),
      ),
    );
    replace(
      body,
      h('p', {
        class: 'hint',
        text: `${d.monthsWithDiagnostics} of ${d.months} stored months have diagnostics. They are warnings: the months are stored.`,
      }),
      dataTable(
        { id: 'diagnostic-codes', caption: 'Diagnostics per code' },
        ['Code', 'Count', 'Months'],
        codes,
      ),
      h(
        'details',
        {},
        h('summary', { text: 'Months with diagnostics' }),
        dataTable(
          { id: 'diagnostic-months', caption: 'Months with diagnostics' },
          ['Report', 'Month', 'Release', 'Content', 'Diagnostics'],
          months,
        ),
      ),
    );
  }
  void load();
  return { el: card, reload: load };
}
