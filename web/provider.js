/** Provider detail: the provider's settings (credentials masked), its last job and the month matrix. */
import { api, errorText, qs } from './api.js';
import { dateTime, h, listen, notice, replace, srOnly } from './dom.js';
import { jobState } from './jobs.js';
import { STATES, monthState, toMonth, windowMonths } from './months.js';

const REPORTS_PAGE = 1000;
const POLL_MS = 2000;

/**
 * @param {string} id
 * @returns {import('./app.js').Page}
 */
export function providerPage(id) {
  const status = notice();
  const head = h('div', { class: 'page-head' }, h('h1', { id: 'provider-title', text: 'Provider' }));
  const details = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const lastJob = h('p', { class: 'last-job', 'aria-live': 'polite' });
  const matrixHolder = h('div', {});
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let disposed = false;
  /** @type {any} */
  let provider;
  /** The state of the last job seen, to reload the matrix when it finishes. */
  let lastState = '';

  const harvestButton = h('button', { type: 'button', class: 'btn btn-primary', text: 'Harvest now' });
  listen(harvestButton, 'click', async () => {
    harvestButton.setAttribute('disabled', '');
    const res = await api('GET', `/erm-usage-harvester/start/${encodeURIComponent(id)}`);
    harvestButton.removeAttribute('disabled');
    if (res.ok) status.show('success', res.json?.message ?? 'Harvesting scheduled');
    else status.show('error', errorText(res));
    void pollJob();
  });
  const refreshButton = h('button', {
    type: 'button',
    class: 'btn',
    text: 'Refresh',
    onclick: () => void loadAll(),
  });

  async function loadProvider() {
    const res = await api('GET', `/usage-data-providers/${encodeURIComponent(id)}`);
    if (!res.ok) {
      replace(details, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return false;
    }
    provider = res.json;
    replace(
      head,
      h(
        'div',
        {},
        h('p', { class: 'crumbs' }, h('a', { href: '#/providers', text: '← Providers' })),
        h('h1', { id: 'provider-title', text: provider.label ?? '(no label)' }),
      ),
      h('div', { class: 'actions' }, refreshButton, harvestButton),
    );
    replace(details, providerDetails(provider));
    return true;
  }

  async function loadMatrix() {
    /** @type {any[]} */
    const reports = [];
    for (let offset = 0; ; offset += REPORTS_PAGE) {
      const res = await api(
        'GET',
        '/counter-reports?' +
          qs({
            tiny: 'true',
            query: `providerId=="${id}" sortby yearMonth`,
            limit: REPORTS_PAGE,
            offset,
          }),
      );
      if (!res.ok) {
        replace(matrixHolder, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
        return;
      }
      const page = res.json?.counterReports ?? [];
      reports.push(...page);
      if (page.length < REPORTS_PAGE || reports.length >= (res.json?.totalRecords ?? 0)) break;
    }
    replace(matrixHolder, monthMatrix(provider, reports));
  }

  async function pollJob() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const res = await api(
      'GET',
      '/erm-usage-harvester/jobs?' +
        qs({ providerId: id, limit: 1, query: '(cql.allRecords=1) sortby timestamp/number/sort.descending' }),
    );
    if (disposed) return;
    const job = res.json?.jobInfos?.[0];
    if (!res.ok || !job) {
      replace(lastJob, res.ok ? 'Not harvested by this service yet.' : errorText(res));
      return;
    }
    const state = jobState(job);
    replace(
      lastJob,
      'Last harvest job: ',
      h('span', { class: `badge state-${state}`, text: state }),
      ' ',
      state === 'finished'
        ? [
            h('span', {
              class: job.result === 'success' ? 'badge badge-good' : 'badge badge-bad',
              text: job.result ?? '',
            }),
            ' at ',
            dateTime(job.finishedAt),
            job.errorMessage && h('span', { class: 'error-text', text: ` — ${job.errorMessage}` }),
          ]
        : ['started ', dateTime(job.startedAt ?? job.nextStart)],
    );
    if (lastState && lastState !== 'finished' && state === 'finished') await loadAll();
    lastState = state;
    if (state !== 'finished') timer = setTimeout(() => void pollJob(), POLL_MS);
  }

  async function loadAll() {
    if (await loadProvider()) {
      await loadMatrix();
      await pollJob();
    }
  }
  void loadAll();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'provider-title' },
    head,
    status.el,
    details,
    lastJob,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'matrix-title' },
      h('h2', { id: 'matrix-title', text: 'Harvested months' }),
      legend(),
      matrixHolder,
    ),
  );
  return {
    el,
    title: 'Provider',
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Settings of a provider; credentials are never shown, only whether they are set.
 * @param {any} p
 */
function providerDetails(p) {
  const hc = p.harvestingConfig ?? {};
  const creds = p.sushiCredentials ?? {};
  /** @param {unknown} v */
  const masked = (v) =>
    v
      ? h('span', { class: 'masked', text: '••••••••', title: 'set (hidden)' })
      : h('span', { class: 'muted', text: 'not set' });
  /** @type {[string, any][]} */
  const rows = [
    ['Status', `${p.status ?? '—'} (harvesting ${hc.harvestingStatus ?? '—'})`],
    [
      'Harvested via',
      hc.harvestVia === 'aggregator'
        ? `aggregator ${hc.aggregator?.name ?? hc.aggregator?.id ?? ''}`
        : (hc.sushiConfig?.serviceType ?? '—'),
    ],
    ['Service URL', hc.sushiConfig?.serviceUrl ?? '—'],
    ['Report release', hc.reportRelease ?? '—'],
    ['Requested reports', (hc.requestedReports ?? []).join(', ') || '—'],
    ['Harvesting window', `${hc.harvestingStart ?? '—'} … ${hc.harvestingEnd ?? 'last complete month'}`],
    ['Customer ID', creds.customerId ?? '—'],
    ['Requestor ID', masked(creds.requestorId)],
    ['API key', masked(creds.apiKey)],
    ['Platform', creds.platform ?? '—'],
    ['Reports stored', `${p.earliestReport ?? '—'} … ${p.latestReport ?? '—'}`],
    ['Failed reports', p.hasFailedReport === 'yes' ? `yes (${(p.reportErrorCodes ?? []).join(', ')})` : 'no'],
    ['Last harvest', dateTime(p.harvestingDate)],
  ];
  return h(
    'dl',
    { class: 'details card' },
    rows.map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', {}, v))),
  );
}

function legend() {
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    STATES.map((s) =>
      h(
        'li',
        {},
        h('span', { class: `cell cell-${s.state}`, 'aria-hidden': 'true', text: s.glyph }),
        h('span', { text: s.label }),
        h('span', { class: 'muted', text: ` — ${s.description}` }),
      ),
    ),
  );
}

/**
 * Rows = requested reports (plus any other report stored), columns = the months of the window.
 * @param {any} provider
 * @param {any[]} reports counter reports without their data (tiny)
 */
function monthMatrix(provider, reports) {
  const hc = provider.harvestingConfig ?? {};
  const months = windowMonths(hc.harvestingStart, hc.harvestingEnd);
  if (months.length === 0)
    return h('p', {
      class: 'muted',
      text: toMonth(hc.harvestingStart)
        ? `The harvesting window (from ${hc.harvestingStart}) has no complete month yet.`
        : 'No harvesting window: set a harvesting start (yyyy-MM).',
    });
  /** @type {Map<string, any>} */
  const byKey = new Map();
  /** @type {string[]} */
  const names = [...(hc.requestedReports ?? [])];
  const release = hc.reportRelease;
  for (const r of reports) {
    const name = String(r.reportName ?? '');
    const month = toMonth(r.yearMonth);
    if (!month) continue;
    if (!names.some((n) => n.toUpperCase() === name.toUpperCase())) names.push(name);
    const key = `${name.toUpperCase()}|${month}`;
    // Prefer the record of the provider's current release when several exist.
    if (!byKey.has(key) || r.release === release) byKey.set(key, r);
  }
  if (names.length === 0) return h('p', { class: 'muted', text: 'No reports requested.' });
  const stateInfo = new Map(STATES.map((s) => [s.state, s]));
  const detail = h('p', { class: 'cell-detail', 'aria-live': 'polite' });
  const failures = reports.filter((r) => monthState(r) === 'failed').length;
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'matrix', id: 'month-matrix' },
        h('caption', { class: 'sr-only', text: 'Harvest state per report and month' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'Report' }),
            months.map((m) =>
              h(
                'th',
                { scope: 'col', class: 'month' },
                h('span', { class: 'year', text: m.slice(0, 4) }),
                h('span', { text: m.slice(5) }),
              ),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          names.map((name) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row', text: name }),
              months.map((month) => {
                const record = byKey.get(`${name.toUpperCase()}|${month}`);
                const state = monthState(record);
                const info = stateInfo.get(state);
                const reason = state === 'failed' || state === 'not-ready' ? record?.failedReason : undefined;
                const title = `${name} ${month}: ${info?.label ?? state}${reason ? ` — ${reason}` : ''}`;
                const cell = h(
                  'td',
                  { class: `cell cell-${state}`, title, dataset: { report: name, month, state } },
                  h('span', { 'aria-hidden': 'true', text: info?.glyph ?? '' }),
                  srOnly(reason ? `${info?.label}: ${reason}` : (info?.label ?? state)),
                );
                if (reason) {
                  // The reason for keyboard and touch users, who get no tooltip.
                  cell.tabIndex = 0;
                  const show = () => replace(detail, h('strong', { text: `${name} ${month}: ` }), reason);
                  cell.addEventListener('focus', show);
                  cell.addEventListener('click', show);
                }
                return cell;
              }),
            ),
          ),
        ),
      ),
    ),
    failures > 0 && h('p', { class: 'hint', text: 'Select a failed or not ready month to read the reason.' }),
    detail,
  );
}
