/**
 * Jobs page: the newest jobs, refreshed automatically while one is scheduled or running, with filters
 * (provider, result, type, start date range) sent as CQL and kept in the location (`#/jobs?result=…`).
 */
import { api, apiAll, cqlQuote, errorText, qs } from './api.js';
import { dataTable, dateTime, duration, h, replace, replaceHash } from './dom.js';
import { field, input, select } from './forms.js';

const PAGE_SIZE = 30;
/** Refresh interval while a job runs or is about to start. */
const FAST_MS = 3000;
/** Refresh interval while only later starts are scheduled (e.g. the periodic placeholder). */
const SLOW_MS = 30_000;

/** The filters and the values they offer. */
const RESULTS = ['success', 'failure'];
const TYPES = ['provider', 'tenant', 'periodic'];

/**
 * A local calendar day's start as the service writes date-times (UTC, `+00:00`), so that text order is
 * time order.
 * @param {string} day yyyy-MM-dd
 * @param {number} [addDays]
 */
export function dayStart(day, addDays = 0) {
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(y, m - 1, d + addDays);
  return date.toISOString().replace('Z', '+00:00');
}

/**
 * The CQL of the filters; the newest start first.
 * @param {{ provider?: string, result?: string, type?: string, from?: string, to?: string }} f
 */
export function jobsQuery(f) {
  /** @type {string[]} */
  const parts = [];
  if (f.provider) parts.push(`providerId==${cqlQuote(f.provider)}`);
  if (f.result) parts.push(`result==${cqlQuote(f.result)}`);
  if (f.type) parts.push(`type==${cqlQuote(f.type)}`);
  if (f.from) parts.push(`startedAt>=${cqlQuote(dayStart(f.from))}`);
  if (f.to) parts.push(`startedAt<${cqlQuote(dayStart(f.to, 1))}`);
  return `${parts.length ? parts.join(' and ') : '(cql.allRecords=1)'} sortby startedAt/sort.descending`;
}

/**
 * The state as FOLIO's UI derives it (folio-contract §6.3).
 * @param {any} job
 * @returns {'finished' | 'scheduled' | 'running'}
 */
export function jobState(job) {
  if (job.finishedAt) return 'finished';
  if (job.nextStart) return 'scheduled';
  return 'running';
}

/**
 * @param {URLSearchParams} [params] provider, result, type, from, to (yyyy-MM-dd)
 * @returns {import('./app.js').Page}
 */
export function jobsPage(params = new URLSearchParams()) {
  let offset = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let disposed = false;
  /** Provider labels by id, looked up once per page view (and again for unknown ids). */
  /** @type {Map<string, string>} */
  const labels = new Map();
  /** Providers of jobs that no longer exist. */
  /** @type {Set<string>} */
  const gone = new Set();

  const tableHolder = h('div', { class: 'table-wrap' }, h('p', { class: 'muted', text: 'Loading…' }));
  const info = h('p', { class: 'count', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });
  const refreshButton = h('button', {
    type: 'button',
    class: 'btn',
    text: 'Refresh',
    onclick: () => void load(),
  });

  const providerSelect = select([{ value: '', text: 'All providers' }]);
  const resultSelect = select([
    { value: '', text: 'Any result' },
    ...RESULTS.map((r) => ({ value: r, text: r })),
  ]);
  const typeSelect = select([{ value: '', text: 'Any type' }, ...TYPES.map((t) => ({ value: t, text: t }))]);
  const fromInput = input({ type: 'date' });
  const toInput = input({ type: 'date' });
  const wanted = params.get('provider') ?? '';
  if (wanted) providerSelect.append(h('option', { value: wanted, text: wanted }));
  providerSelect.value = wanted;
  resultSelect.value = RESULTS.includes(params.get('result') ?? '') ? (params.get('result') ?? '') : '';
  typeSelect.value = TYPES.includes(params.get('type') ?? '') ? (params.get('type') ?? '') : '';
  const isDay = (/** @type {string | null} */ v) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '');
  fromInput.value = isDay(params.get('from'));
  toInput.value = isDay(params.get('to'));

  function filters() {
    return {
      provider: providerSelect.value,
      result: resultSelect.value,
      type: typeSelect.value,
      from: fromInput.value,
      to: toInput.value,
    };
  }
  function filtersChanged() {
    offset = 0;
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters())) if (v) p.set(k, v);
    const q = p.toString();
    replaceHash(`#/jobs${q ? `?${q}` : ''}`);
    void load();
  }
  for (const control of [providerSelect, resultSelect, typeSelect, fromInput, toInput])
    control.addEventListener('change', filtersChanged);
  const clearButton = h('button', {
    type: 'button',
    class: 'btn btn-small',
    text: 'Clear filters',
    onclick: () => {
      for (const control of [providerSelect, resultSelect, typeSelect, fromInput, toInput])
        control.value = '';
      filtersChanged();
    },
  });
  const filterForm = h(
    'form',
    {
      class: 'filters card',
      id: 'job-filters',
      'aria-label': 'Job filters',
      onsubmit: (/** @type {Event} */ e) => e.preventDefault(),
    },
    field({ id: 'job-provider', label: 'Provider', control: providerSelect }),
    field({ id: 'job-result', label: 'Result', control: resultSelect }),
    field({ id: 'job-type', label: 'Type', control: typeSelect }),
    field({ id: 'job-from', label: 'Started from', control: fromInput }),
    field({ id: 'job-to', label: 'Started until', control: toInput }),
    h('div', { class: 'filters-actions' }, clearButton),
  );

  /** Every provider, for the provider filter and the labels. */
  async function loadProviders() {
    const all = await apiAll('/usage-data-providers', 'usageDataProviders', {
      query: '(cql.allRecords=1) sortby label',
    });
    if (!all.ok || disposed) return;
    const current = providerSelect.value;
    replace(
      providerSelect,
      h('option', { value: '', text: 'All providers' }),
      all.records.map((p) => {
        labels.set(p.id, p.label ?? p.id);
        return h('option', { value: p.id, text: p.label ?? p.id });
      }),
    );
    if (current && !labels.has(current))
      providerSelect.append(h('option', { value: current, text: `${current} (deleted)` }));
    providerSelect.value = current;
  }

  /** @param {string[]} ids */
  async function lookUpLabels(ids) {
    const unknown = [...new Set(ids)].filter((id) => !labels.has(id) && !gone.has(id));
    if (unknown.length === 0) return;
    const query = unknown.map((id) => `id==${cqlQuote(id)}`).join(' or ');
    const res = await api('GET', '/usage-data-providers?' + qs({ limit: unknown.length, query }));
    for (const p of res.json?.usageDataProviders ?? []) labels.set(p.id, p.label ?? p.id);
    if (res.ok) for (const id of unknown) if (!labels.has(id)) gone.add(id);
  }

  async function load() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const res = await api(
      'GET',
      '/erm-usage-harvester/jobs?' + qs({ limit: PAGE_SIZE, offset, query: jobsQuery(filters()) }),
    );
    if (disposed) return;
    if (!res.ok) {
      replace(tableHolder, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      replace(info);
      return;
    }
    /** @type {any[]} */
    const jobs = res.json?.jobInfos ?? [];
    const total = res.json?.totalRecords ?? jobs.length;
    await lookUpLabels(jobs.filter((j) => j.providerId).map((j) => j.providerId));
    if (disposed) return;
    const filtered = Object.values(filters()).some(Boolean);
    replace(
      tableHolder,
      jobs.length
        ? jobTable(jobs, labels, gone)
        : h('p', { class: 'empty', text: filtered ? 'No job matches the filters.' : 'No jobs yet.' }),
    );
    const states = jobs.map(jobState);
    const soon = jobs.some(
      (j) => jobState(j) === 'scheduled' && new Date(j.nextStart).getTime() - Date.now() < 2 * 60_000,
    );
    const delay = states.includes('running') || soon ? FAST_MS : states.includes('scheduled') ? SLOW_MS : 0;
    replace(
      info,
      total ? `${offset + 1}–${offset + jobs.length} of ${total} job${total === 1 ? '' : 's'}` : '',
      delay ? ` · refreshing every ${delay / 1000} s` : '',
    );
    replace(
      pager,
      offset > 0 &&
        h('button', {
          type: 'button',
          class: 'btn',
          text: '← Newer',
          onclick: () => {
            offset = Math.max(0, offset - PAGE_SIZE);
            void load();
          },
        }),
      offset + jobs.length < total &&
        h('button', {
          type: 'button',
          class: 'btn',
          text: 'Older →',
          onclick: () => {
            offset += PAGE_SIZE;
            void load();
          },
        }),
    );
    if (delay) timer = setTimeout(() => void load(), delay);
  }
  void loadProviders().then(load);

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'jobs-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'jobs-title', text: 'Harvesting jobs' }),
      h('div', { class: 'actions' }, refreshButton),
    ),
    filterForm,
    info,
    tableHolder,
    pager,
  );
  return {
    el,
    title: 'Jobs',
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * @param {any[]} jobs
 * @param {Map<string, string>} labels
 * @param {Set<string>} gone ids of deleted providers
 */
function jobTable(jobs, labels, gone) {
  const headers = [
    'Type',
    'Provider',
    'State',
    'Started',
    'Finished',
    'Duration',
    'Result',
    'Months',
    'Error / notes',
  ];
  return dataTable(
    { id: 'jobs-table', caption: 'Harvesting jobs, newest first' },
    headers,
    jobs.map((j) => {
      const state = jobState(j);
      const provider = gone.has(j.providerId)
        ? h('span', { class: 'muted', title: j.providerId, text: 'deleted provider' })
        : j.providerId
          ? h('a', {
              href: `#/providers/${encodeURIComponent(j.providerId)}`,
              text: labels.get(j.providerId) ?? j.providerId,
            })
          : h('span', { class: 'muted', text: j.type === 'provider' ? '—' : 'all providers' });
      return h(
        'tr',
        { dataset: { id: j.id, state } },
        h('td', { text: j.type ?? '' }),
        h('td', {}, provider),
        h('td', {}, h('span', { class: `badge state-${state}`, text: state })),
        h('td', {}, dateTime(state === 'scheduled' ? j.nextStart : j.startedAt)),
        h('td', {}, dateTime(j.finishedAt)),
        h('td', { text: duration(j.startedAt, j.finishedAt) }),
        h(
          'td',
          {},
          j.result
            ? h('span', {
                class: j.result === 'success' ? 'badge badge-good' : 'badge badge-bad',
                text: j.result,
              })
            : '',
        ),
        h('td', { class: 'job-report' }, reportParts(j.report)),
        h(
          'td',
          {},
          j.errorMessage ? h('div', { class: 'error-text', text: j.errorMessage }) : '',
          ...(j.notes ?? []).map((/** @type {string} */ n) => h('div', { class: 'muted job-note', text: n })),
        ),
      );
    }),
  );
}

/** What each count of a job report means (shown as the part's title). */
const REPORT_TITLES = {
  stored: 'months stored with usage',
  empty: 'months stored with no usage (3030 or an empty report)',
  failed: 'months that failed, by COUNTER exception code or HTTP status',
  skipped: 'months not requested because the run or the report was stopped',
  deferred: 'times a request was put back for later (queued, busy, rate limited)',
};

/**
 * A provider job's report as short parts, zeros left out: `12 stored`, `2 failed (3031: 2)`, …
 * @param {{ stored: number, empty: number, failed: Record<string, number>, skipped: number, deferred: number } | undefined} report
 * @returns {HTMLElement[]}
 */
export function reportParts(report) {
  if (!report) return [];
  const failed = Object.entries(report.failed ?? {});
  const failedTotal = failed.reduce((n, [, v]) => n + v, 0);
  /** @type {[keyof typeof REPORT_TITLES, number, string][]} */
  const parts = [
    ['stored', report.stored, `${report.stored} stored`],
    ['empty', report.empty, `${report.empty} empty`],
    ['failed', failedTotal, `${failedTotal} failed (${failed.map(([c, n]) => `${c}: ${n}`).join(', ')})`],
    ['skipped', report.skipped, `${report.skipped} skipped`],
    ['deferred', report.deferred, `${report.deferred} deferred`],
  ];
  return parts
    .filter(([key, n]) => n > 0 || key === 'stored')
    .map(([key, , text]) =>
      h('span', {
        class: `report-part report-${key}`,
        dataset: { part: key },
        title: REPORT_TITLES[key],
        text,
      }),
    );
}
