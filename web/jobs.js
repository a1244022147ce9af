/** Jobs page: the newest jobs, refreshed automatically while one is scheduled or running. */
import { api, cqlQuote, errorText, qs } from './api.js';
import { dateTime, duration, h, replace, dataTable } from './dom.js';

const PAGE_SIZE = 30;
/** Refresh interval while a job runs or is about to start. */
const FAST_MS = 3000;
/** Refresh interval while only later starts are scheduled (e.g. the periodic placeholder). */
const SLOW_MS = 30_000;

/**
 * The state as FOLIO's UI derives it (spec §6.3).
 * @param {any} job
 * @returns {'finished' | 'scheduled' | 'running'}
 */
export function jobState(job) {
  if (job.finishedAt) return 'finished';
  if (job.nextStart) return 'scheduled';
  return 'running';
}

/** @returns {import('./app.js').Page} */
export function jobsPage() {
  let offset = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let disposed = false;
  /** Provider labels by id, looked up once per page view (and again for unknown ids). */
  /** @type {Map<string, string>} */
  const labels = new Map();

  const tableHolder = h('div', { class: 'table-wrap' }, h('p', { class: 'muted', text: 'Loading…' }));
  const info = h('p', { class: 'count', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });
  const refreshButton = h('button', {
    type: 'button',
    class: 'btn',
    text: 'Refresh',
    onclick: () => void load(),
  });

  /** @param {string[]} ids */
  async function lookUpLabels(ids) {
    const unknown = [...new Set(ids)].filter((id) => !labels.has(id));
    if (unknown.length === 0) return;
    const query = unknown.map((id) => `id==${cqlQuote(id)}`).join(' or ');
    const res = await api('GET', '/usage-data-providers?' + qs({ limit: unknown.length, query }));
    for (const p of res.json?.usageDataProviders ?? []) labels.set(p.id, p.label ?? p.id);
  }

  async function load() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const res = await api(
      'GET',
      '/erm-usage-harvester/jobs?' +
        qs({ limit: PAGE_SIZE, offset, query: '(cql.allRecords=1) sortby startedAt/sort.descending' }),
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
    replace(
      tableHolder,
      jobs.length ? jobTable(jobs, labels) : h('p', { class: 'empty', text: 'No jobs yet.' }),
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
  void load();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'jobs-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'jobs-title', text: 'Harvesting jobs' }),
      h('div', { class: 'actions' }, refreshButton),
    ),
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
 */
function jobTable(jobs, labels) {
  const headers = ['Type', 'Provider', 'State', 'Started', 'Finished', 'Duration', 'Result', 'Error'];
  return dataTable(
    { id: 'jobs-table', caption: 'Harvesting jobs, newest first' },
    headers,
    jobs.map((j) => {
      const state = jobState(j);
      const provider = j.providerId
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
        h('td', { class: 'error-text', text: j.errorMessage ?? '' }),
      );
    }),
  );
}
