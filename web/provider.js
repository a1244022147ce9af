/**
 * Provider detail: the provider's settings (credentials masked), edit / activate / deactivate / delete,
 * its last job, the month matrix, and the consortium's members (provider-members.js).
 */
import { api, apiAll, countOf, cqlQuote, errorText, qs } from './api.js';
import { confirmDialog, dateTime, h, listen, notice, replace, setFlash, showFlash } from './dom.js';
import { jobState } from './jobs.js';
import { monthMatrix, openMonthDialog } from './matrix.js';
import { EXCEPTION_NAMES, STATES, itemCountOf, monthState } from './months.js';
import { providerCheck } from './provider-check.js';
import { membersCard } from './provider-members.js';
import { diagnosticsCard, harvestAgainCard } from './provider-truth.js';
import { statusBadge } from './providers.js';

const POLL_MS = 2000;
/** Months whose item count is read at the same time (each read fetches the month's whole report). */
const COUNT_CONCURRENCY = 2;

/** Item counts of stored months read so far, by record id and download time (a new harvest changes them). */
const itemCounts = new Map();

/**
 * @param {string} id
 * @returns {import('./app.js').Page}
 */
export function providerPage(id) {
  const status = notice();
  showFlash(status);
  const head = h('div', { class: 'page-head' }, h('h1', { id: 'provider-title', text: 'Provider' }));
  const details = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const lastJob = h('p', { class: 'last-job', 'aria-live': 'polite' });
  const matrixHolder = h('div', {});
  const againHolder = h('div', {});
  const membersHolder = h('div', {});
  const diagnostics = diagnosticsCard(id);
  const countNote = h('p', { class: 'hint', 'aria-live': 'polite' });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let disposed = false;
  const abort = new AbortController();
  /** @type {any} */
  let provider;
  /** The report shown in the matrix, kept across reloads. */
  /** @type {string | undefined} */
  let selectedReport;
  /** The state of the last job seen, to reload the matrix when it finishes. */
  let lastState = '';
  /** Loads of the matrix; item counts are read for the newest only. */
  let matrixGeneration = 0;

  const harvestButton = h('button', { type: 'button', class: 'btn btn-primary', text: 'Harvest now' });
  listen(harvestButton, 'click', async () => {
    harvestButton.setAttribute('disabled', '');
    const res = await api('GET', `/erm-usage-harvester/start/${encodeURIComponent(id)}`);
    harvestButton.removeAttribute('disabled');
    if (res.ok) status.show('success', res.json?.message ?? 'Harvesting scheduled');
    else status.show('error', errorText(res));
    lastState = 'scheduled';
    void pollJob();
  });
  const refreshButton = h('button', {
    type: 'button',
    class: 'btn',
    text: 'Refresh',
    onclick: () => void loadAll(),
  });
  const check = providerCheck(id);
  const editLink = h('a', { class: 'btn', href: `#/providers/${encodeURIComponent(id)}/edit`, text: 'Edit' });
  const toggleButton = h('button', { type: 'button', class: 'btn', text: 'Deactivate' });
  listen(toggleButton, 'click', async () => {
    const activate =
      provider?.status !== 'active' || provider?.harvestingConfig?.harvestingStatus !== 'active';
    toggleButton.setAttribute('disabled', '');
    const res = await setActive(id, activate);
    toggleButton.removeAttribute('disabled');
    if (res.ok) {
      status.show('success', `Provider “${provider.label}” ${activate ? 'activated' : 'deactivated'}.`);
      await loadProvider();
      toggleButton.focus();
    } else status.show('error', res.message);
  });
  const deleteButton = h('button', { type: 'button', class: 'btn btn-danger', text: 'Delete' });
  listen(deleteButton, 'click', async () => {
    const reports = await countOf('/counter-reports', `providerId==${cqlQuote(id)}`);
    const what =
      reports === undefined
        ? 'its stored counter reports'
        : reports === 1
          ? 'its 1 stored counter report'
          : `its ${reports} stored counter reports`;
    const ok = await confirmDialog({
      title: 'Delete provider?',
      message: [
        'Delete ',
        h('strong', { text: `“${provider.label}”` }),
        ` and ${what}? This cannot be undone.`,
      ],
      confirmLabel: 'Delete provider',
      danger: true,
    });
    if (!ok) return;
    const res = await api('DELETE', `/usage-data-providers/${encodeURIComponent(id)}`);
    if (res.ok) {
      setFlash('success', `Provider “${provider.label}” and its counter reports deleted.`);
      window.location.hash = '#/providers';
    } else status.show('error', errorText(res));
  });

  async function loadProvider() {
    const res = await api('GET', `/usage-data-providers/${encodeURIComponent(id)}`);
    if (disposed) return false;
    if (!res.ok) {
      replace(details, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return false;
    }
    provider = res.json;
    const active = provider.status === 'active' && provider.harvestingConfig?.harvestingStatus === 'active';
    toggleButton.textContent = active ? 'Deactivate' : 'Activate';
    toggleButton.title = active
      ? 'Set the provider and its harvesting inactive'
      : 'Set the provider and its harvesting active';
    replace(
      head,
      h(
        'div',
        {},
        h('p', { class: 'crumbs' }, h('a', { href: '#/providers', text: '← Providers' })),
        h('h1', { id: 'provider-title' }, provider.label ?? '(no label)', ' ', statusBadge(provider)),
      ),
      h(
        'div',
        { class: 'actions' },
        refreshButton,
        check.button,
        editLink,
        toggleButton,
        deleteButton,
        harvestButton,
      ),
    );
    replace(details, providerDetails(provider));
    replace(
      againHolder,
      harvestAgainCard(provider, (message, kind, harvesting) => {
        status.show(kind, message);
        if (harvesting) {
          lastState = 'scheduled';
          void pollJob();
        }
      }),
    );
    replace(
      membersHolder,
      membersCard(provider, (message, kind) => status.show(kind, message)),
    );
    return true;
  }

  async function loadMatrix() {
    const mine = ++matrixGeneration;
    const all = await apiAll('/counter-reports', 'counterReports', {
      tiny: 'true',
      query: `providerId==${cqlQuote(id)} sortby yearMonth`,
    });
    if (disposed || mine !== matrixGeneration) return;
    if (!all.ok) {
      replace(
        matrixHolder,
        h('p', { class: 'notice notice-error', role: 'alert', text: errorText(all.res) }),
      );
      return;
    }
    /** @type {Map<string, number>} */
    const counts = new Map();
    for (const r of all.records) {
      const known = itemCounts.get(`${r.id}|${r.downloadTime}`);
      if (known !== undefined) counts.set(r.id, known);
    }
    const matrix = monthMatrix({
      provider,
      reports: all.records,
      selected: selectedReport,
      counts,
      onSelect: (name) => {
        selectedReport = name;
        void countItems(matrix, name, counts, mine);
      },
      onOpen: (name, month, records) =>
        openMonthDialog({
          provider,
          name,
          month,
          records,
          onChanged: (message, kind = 'success', harvesting = false) => {
            status.show(kind, message);
            void loadMatrix();
            void loadProvider();
            if (harvesting) {
              lastState = 'scheduled';
              void pollJob();
            }
          },
        }),
    });
    selectedReport = matrix.selected;
    replace(matrixHolder, matrix.el);
    if (matrix.selected) void countItems(matrix, matrix.selected, counts, mine);
  }

  /**
   * Months stored with data but without `itemCount` are read whole (one at a time per slot) to tell a
   * month with usage from a stored empty report; the cells update as the counts arrive.
   * @param {ReturnType<typeof monthMatrix>} matrix
   * @param {string} name
   * @param {Map<string, number>} counts
   * @param {number} generation
   */
  async function countItems(matrix, name, counts, generation) {
    const todo = matrix
      .records(name)
      .filter((r) => r && itemCountOf(r) === undefined && !counts.has(r.id))
      .filter((r) => ['harvested', 'partial'].includes(monthState(r)));
    if (todo.length === 0) {
      replace(countNote);
      return;
    }
    replace(countNote, `Counting the items of ${todo.length} stored month${todo.length === 1 ? '' : 's'}…`);
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !disposed && generation === matrixGeneration) {
        const r = todo[next++];
        const res = await api('GET', `/counter-reports/${encodeURIComponent(r.id)}`, undefined, {
          signal: abort.signal,
        });
        const n = res.ok ? itemCountOf(res.json) : undefined;
        if (n === undefined) continue;
        counts.set(r.id, n);
        itemCounts.set(`${r.id}|${r.downloadTime}`, n);
        if (generation === matrixGeneration) matrix.updateCount(r.id);
      }
    };
    await Promise.all(Array.from({ length: COUNT_CONCURRENCY }, worker));
    if (!disposed && generation === matrixGeneration) replace(countNote);
  }

  async function pollJob() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const res = await api(
      'GET',
      '/erm-usage-harvester/jobs?' +
        qs({
          limit: 1,
          query: `providerId==${cqlQuote(id)} sortby timestamp/number/sort.descending`,
        }),
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
            job.notes?.length > 0 &&
              h('span', { class: 'muted job-notes', text: ` — ${job.notes.join(' · ')}` }),
          ]
        : ['started ', dateTime(job.startedAt ?? job.nextStart)],
      ' · ',
      h('a', { href: `#/jobs?provider=${encodeURIComponent(id)}`, text: 'all jobs of this provider' }),
    );
    if (lastState && lastState !== 'finished' && state === 'finished') {
      await loadProvider();
      await loadMatrix();
      void diagnostics.reload();
    }
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
    check.el,
    details,
    lastJob,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'matrix-title' },
      h('h2', { id: 'matrix-title', text: 'Harvested months' }),
      h(
        'p',
        {},
        h('a', {
          href: `#/usage/${encodeURIComponent(id)}`,
          id: 'usage-link',
          text: 'Usage: chart, top items, downloads and file upload',
        }),
      ),
      legend(),
      matrixHolder,
      countNote,
    ),
    againHolder,
    membersHolder,
    diagnostics.el,
  );
  return {
    el,
    title: 'Provider',
    dispose() {
      disposed = true;
      abort.abort();
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Activates (status and harvesting status active) or deactivates (both inactive) a provider: the stored
 * record is sent back whole with only these two fields changed.
 * @param {string} id
 * @param {boolean} active
 * @returns {Promise<{ ok: boolean, message: string }>}
 */
export async function setActive(id, active) {
  const path = `/usage-data-providers/${encodeURIComponent(id)}`;
  const res = await api('GET', path);
  if (!res.ok) return { ok: false, message: errorText(res) };
  const record = res.json;
  const value = active ? 'active' : 'inactive';
  record.status = value;
  record.harvestingConfig = { ...record.harvestingConfig, harvestingStatus: value };
  const put = await api('PUT', path, record);
  return put.ok ? { ok: true, message: '' } : { ok: false, message: errorText(put) };
}

/**
 * Settings of a provider; secret credentials are never shown, only whether they are set.
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
  const viaAggregator = hc.harvestVia === 'aggregator';
  /** @type {[string, any][]} */
  const rows = [
    ['Status', `${p.status ?? '—'} (harvesting ${hc.harvestingStatus ?? '—'})`],
    [
      'Harvested via',
      viaAggregator
        ? [
            'aggregator ',
            hc.aggregator?.id
              ? h('a', {
                  href: `#/aggregators/${encodeURIComponent(hc.aggregator.id)}`,
                  text: hc.aggregator?.name ?? hc.aggregator.id,
                })
              : '—',
            hc.aggregator?.vendorCode ? ` (code ${hc.aggregator.vendorCode})` : '',
          ]
        : (hc.sushiConfig?.serviceType ?? '—'),
    ],
    ['Service URL', viaAggregator ? '—' : (hc.sushiConfig?.serviceUrl ?? '—')],
    ['Report release', hc.reportRelease ?? '—'],
    ['Requested reports', (hc.requestedReports ?? []).join(', ') || '—'],
    ['Harvesting window', `${hc.harvestingStart ?? '—'} … ${hc.harvestingEnd ?? 'last complete month'}`],
    ['Customer ID', creds.customerId ?? '—'],
    ['Requestor ID', masked(creds.requestorId)],
    ['API key', masked(creds.apiKey)],
    ['Platform', creds.platform ?? '—'],
    ['Reports stored', `${p.earliestReport ?? '—'} … ${p.latestReport ?? '—'}`],
    [
      'Failed reports',
      p.hasFailedReport === 'yes'
        ? [
            'yes (',
            (p.reportErrorCodes ?? []).flatMap((/** @type {string} */ c, /** @type {number} */ i) => [
              i > 0 && ', ',
              h('span', { title: EXCEPTION_NAMES[c] ?? null, text: c }),
            ]),
            ')',
          ]
        : 'no',
    ],
    ['Last harvest', dateTime(p.harvestingDate)],
  ];
  if (p.description) rows.unshift(['Description', p.description]);
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
