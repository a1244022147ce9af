/**
 * The month matrix of a provider: one grid per report (tabs), years as rows and months as columns, each
 * month a button opening its details: state, reason, attempts, download time, report header, number of
 * items, with "Download JSON", "Harvest again" and "Delete".
 */
import { api, apiDownload, errorText } from './api.js';
import { confirmDialog, dateTime, h, listen, openDialog, replace } from './dom.js';
import {
  EXCEPTION_NAMES,
  SHORT_MONTHS,
  STATES,
  harvestAgain,
  itemCountOf,
  lastCompleteMonth,
  monthLabel,
  monthState,
  toMonth,
} from './months.js';

const stateInfo = new Map(STATES.map((s) => [s.state, s]));

/**
 * Harvests one stored month again without deleting it (`POST /erm-usage-harvester/start/{id}/again`): the
 * month is requested even though it is stored; unchanged data leaves the record as it is, restated data
 * replaces it (the change is recorded).
 * @param {string} providerId
 * @param {any} record the stored month
 * @returns {Promise<{ ok: boolean, message: string }>}
 */
export async function harvestMonthAgain(providerId, record) {
  const month = String(record.yearMonth).slice(0, 7);
  const result = await harvestAgain(providerId, month, month, [String(record.reportName)]);
  return result.ok
    ? { ok: true, message: `${record.reportName} ${month}: harvesting again scheduled.` }
    : result;
}

/**
 * The records of a provider grouped by report name (upper case) and month; for each month the record of
 * the provider's current release comes first.
 * @param {any[]} reports
 * @param {string | undefined} release
 */
function groupRecords(reports, release) {
  /** @type {Map<string, any[]>} */
  const byKey = new Map();
  for (const r of reports) {
    const month = toMonth(r.yearMonth);
    if (!month) continue;
    const key = `${String(r.reportName ?? '').toUpperCase()}|${month}`;
    const list = byKey.get(key) ?? [];
    if (r.release === release) list.unshift(r);
    else list.push(r);
    byKey.set(key, list);
  }
  return byKey;
}

/**
 * @typedef {{
 *   provider: any,
 *   reports: any[],
 *   selected?: string,
 *   counts: Map<string, number>,
 *   onSelect: (name: string) => void,
 *   onOpen: (name: string, month: string, records: any[]) => void,
 * }} MatrixOptions
 */

/**
 * @param {MatrixOptions} opts
 * @returns {{ el: HTMLElement, selected: string | undefined, records(name: string): any[], updateCount(id: string): void }}
 */
export function monthMatrix(opts) {
  const hc = opts.provider.harvestingConfig ?? {};
  const byKey = groupRecords(opts.reports, hc.reportRelease);
  /** @type {string[]} */
  const names = [...(hc.requestedReports ?? [])].map(String);
  for (const r of opts.reports) {
    const name = String(r.reportName ?? '');
    if (name && !names.some((n) => n.toUpperCase() === name.toUpperCase())) names.push(name);
  }
  const first = toMonth(hc.harvestingStart);
  const limit = lastCompleteMonth();
  const configuredEnd = toMonth(hc.harvestingEnd);
  const last = configuredEnd && configuredEnd < limit ? configuredEnd : limit;
  const inWindow = (/** @type {string} */ m) => first !== undefined && m >= first && m <= last;

  if (names.length === 0)
    return {
      el: h('p', { class: 'muted', text: 'No reports requested.' }),
      selected: undefined,
      records: () => [],
      updateCount() {},
    };
  /** @type {number[]} */
  const yearsSeen = [];
  if (first && first <= last) yearsSeen.push(Number(first.slice(0, 4)), Number(last.slice(0, 4)));
  for (const r of opts.reports) {
    const m = toMonth(r.yearMonth);
    if (m) yearsSeen.push(Number(m.slice(0, 4)));
  }
  if (yearsSeen.length === 0)
    return {
      el: h('p', {
        class: 'muted',
        text: first
          ? `The harvesting window (from ${hc.harvestingStart}) has no complete month yet.`
          : 'No harvesting window: set a harvesting start (yyyy-mm).',
      }),
      selected: undefined,
      records: () => [],
      updateCount() {},
    };
  /** @type {number[]} */
  const years = [];
  for (let y = Math.max(...yearsSeen); y >= Math.min(...yearsSeen); y--) years.push(y);

  const selected = names.find((n) => n.toUpperCase() === opts.selected?.toUpperCase()) ?? names[0];
  /** Cells by record id, to update them when an item count arrives. */
  /** @type {Map<string, { cell: HTMLElement, name: string, month: string }>} */
  const cellsById = new Map();

  /**
   * @param {string} name
   * @param {string} month
   */
  function describe(name, month) {
    const records = byKey.get(`${name.toUpperCase()}|${month}`) ?? [];
    const record = records[0];
    const state = monthState(record, record ? opts.counts.get(record.id) : undefined);
    const info = stateInfo.get(state);
    const reason = state === 'failed' || state === 'not-ready' ? record?.failedReason : undefined;
    const count = record ? (itemCountOf(record) ?? opts.counts.get(record.id)) : undefined;
    const extra = reason
      ? ` — ${reason}`
      : count !== undefined && state !== 'failed'
        ? ` — ${count} item${count === 1 ? '' : 's'}`
        : '';
    return { records, state, info, label: `${name} ${month}: ${info?.label ?? state}${extra}` };
  }

  /**
   * @param {HTMLElement} cell
   * @param {string} name
   * @param {string} month
   */
  function fill(cell, name, month) {
    const d = describe(name, month);
    cell.className = `cell cell-${d.state}`;
    cell.dataset.state = d.state;
    cell.title = d.label;
    const button = h(
      'button',
      {
        type: 'button',
        class: 'cell-btn',
        'aria-label': `${name} ${monthLabel(month)}: ${d.info?.label ?? d.state}`,
        'aria-haspopup': 'dialog',
      },
      h('span', { 'aria-hidden': 'true', text: d.info?.glyph ?? '' }),
    );
    button.addEventListener('click', () => opts.onOpen(name, month, d.records));
    replace(cell, button);
    const record = d.records[0];
    if (record?.id) {
      cell.dataset.id = record.id;
      cellsById.set(record.id, { cell, name, month });
    }
  }

  /** @param {string} name */
  function grid(name) {
    let stored = 0;
    const rows = years.map((year) => {
      let withData = 0;
      const cells = SHORT_MONTHS.map((_, i) => {
        const month = `${year}-${String(i + 1).padStart(2, '0')}`;
        const records = byKey.get(`${name.toUpperCase()}|${month}`);
        if (!records && !inWindow(month))
          return h('td', { class: 'cell cell-out', dataset: { report: name, month, state: 'out' } });
        if (records?.some((r) => !r.failedAttempts && !r.failedReason)) withData++;
        const cell = h('td', { dataset: { report: name, month } });
        fill(cell, name, month);
        return cell;
      });
      stored += withData;
      return h(
        'tr',
        {},
        h('th', { scope: 'row', text: String(year) }),
        cells,
        h('td', { class: 'year-sum', text: withData ? String(withData) : '' }),
      );
    });
    return {
      stored,
      table: h(
        'table',
        { class: 'matrix', dataset: { report: name } },
        h('caption', { class: 'sr-only', text: `${name}: harvest state per month` }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'Year' }),
            SHORT_MONTHS.map((m) => h('th', { scope: 'col', class: 'month', text: m })),
            h('th', {
              scope: 'col',
              class: 'month',
              title: 'Months stored (not failed) per year',
              text: 'Σ',
            }),
          ),
        ),
        h('tbody', {}, rows),
      ),
    };
  }

  /** @type {HTMLElement[]} */
  const tabs = [];
  /** @type {HTMLElement[]} */
  const panels = [];
  names.forEach((name, i) => {
    const failures = opts.reports.filter(
      (r) => String(r.reportName).toUpperCase() === name.toUpperCase() && monthState(r) === 'failed',
    ).length;
    const { table } = grid(name);
    const tabId = `matrix-tab-${i}`;
    const panelId = `matrix-panel-${i}`;
    const isSelected = name === selected;
    const tab = h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: tabId,
        class: 'tab',
        'aria-selected': String(isSelected),
        'aria-controls': panelId,
        tabindex: isSelected ? '0' : '-1',
        dataset: { report: name },
      },
      name,
      failures > 0 && ' ',
      failures > 0 &&
        h(
          'span',
          { class: 'tab-badge', title: `${failures} failed` },
          String(failures),
          h('span', { class: 'sr-only', text: ' failed' }),
        ),
    );
    tab.addEventListener('click', () => choose(i));
    tab.addEventListener('keydown', (event) => {
      const key = /** @type {KeyboardEvent} */ (event).key;
      const next =
        key === 'ArrowRight'
          ? (i + 1) % names.length
          : key === 'ArrowLeft'
            ? (i - 1 + names.length) % names.length
            : key === 'Home'
              ? 0
              : key === 'End'
                ? names.length - 1
                : -1;
      if (next < 0) return;
      event.preventDefault();
      choose(next);
      tabs[next].focus();
    });
    tabs.push(tab);
    panels.push(
      h(
        'div',
        {
          role: 'tabpanel',
          id: panelId,
          'aria-labelledby': tabId,
          class: 'table-wrap matrix-wrap',
          hidden: !isSelected,
        },
        table,
      ),
    );
  });

  const state = { selected };
  /** @param {number} i */
  function choose(i) {
    tabs.forEach((t, j) => {
      t.setAttribute('aria-selected', String(i === j));
      t.tabIndex = i === j ? 0 : -1;
      panels[j].hidden = i !== j;
    });
    state.selected = names[i];
    opts.onSelect(names[i]);
  }

  const el = h(
    'div',
    { id: 'month-matrix' },
    h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Report' }, tabs),
    panels,
  );
  return {
    el,
    get selected() {
      return state.selected;
    },
    /** @param {string} name */
    records(name) {
      return [...byKey.entries()]
        .filter(([k]) => k.startsWith(`${name.toUpperCase()}|`))
        .map(([, v]) => v[0]);
    },
    /** @param {string} id */
    updateCount(id) {
      const found = cellsById.get(id);
      if (found) fill(found.cell, found.name, found.month);
    },
  };
}

/**
 * The dialog of one month of one report.
 * @param {{
 *   provider: any,
 *   name: string,
 *   month: string,
 *   records: any[],
 *   onChanged: (message: string, kind?: 'success' | 'error', harvesting?: boolean) => void,
 * }} opts
 */
export function openMonthDialog(opts) {
  const { provider, name, month } = opts;
  const title = `${name} · ${monthLabel(month)}`;
  const body = h('div', { class: 'month-body', 'aria-live': 'polite' });
  const dialog = openDialog({
    title,
    id: 'month-dialog',
    className: 'dialog-wide',
    body,
    actions: [h('button', { type: 'button', class: 'btn', text: 'Close', onclick: () => dialog.close() })],
  });
  if (opts.records.length === 0) {
    const harvest = h('button', { type: 'button', class: 'btn btn-primary', text: 'Harvest provider now' });
    listen(harvest, 'click', async () => {
      const res = await api('GET', `/erm-usage-harvester/start/${encodeURIComponent(provider.id)}`);
      dialog.close();
      opts.onChanged(
        res.ok ? (res.json?.message ?? 'Harvesting scheduled') : errorText(res),
        res.ok ? 'success' : 'error',
        res.ok,
      );
    });
    replace(
      body,
      h('p', { text: 'Nothing is stored for this month.' }),
      h('p', {
        class: 'muted',
        text: 'A harvest of the provider requests every month of its window that is not stored.',
      }),
      h('div', { class: 'form-actions' }, harvest),
    );
    harvest.focus();
    return dialog;
  }
  replace(
    body,
    opts.records.map((r) => recordSection(r)),
  );

  /** @param {any} summary a record without its report */
  function recordSection(summary) {
    const section = h(
      'section',
      { class: 'month-record', dataset: { id: summary.id } },
      h('p', { class: 'muted', text: 'Loading…' }),
    );
    void (async () => {
      const res = await api('GET', `/counter-reports/${encodeURIComponent(summary.id)}`);
      if (!res.ok) {
        replace(section, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
        return;
      }
      const record = res.json ?? summary;
      const state = monthState(record);
      const info = stateInfo.get(state);
      const count = itemCountOf(record);
      const code = record.harvestState?.code;
      const header = record.report?.Report_Header;
      /** @type {[string, any][]} */
      const rows = [
        ['State', h('span', { class: `badge cell-${state}`, text: info?.label ?? state })],
        ['Release', record.release ?? '—'],
        ['Items', count === undefined ? '—' : String(count)],
        ['Downloaded', dateTime(record.downloadTime)],
      ];
      if (code !== undefined)
        rows.push([
          'COUNTER exception',
          `${code}${EXCEPTION_NAMES[code] ? ` ${EXCEPTION_NAMES[code]}` : ''}`,
        ]);
      if (record.failedAttempts) rows.push(['Failed attempts', String(record.failedAttempts)]);
      if (record.harvestState?.nextCheckAfter)
        rows.push(['Next check after', dateTime(record.harvestState.nextCheckAfter)]);
      if (record.reportEditedManually) rows.push(['Edited manually', record.editReason ?? 'yes']);
      if (record.harvestState?.source === 'upload')
        rows.push(['Source', `uploaded file ${record.harvestState.fileName ?? ''}`.trim()]);
      const download = h('button', { type: 'button', class: 'btn', text: 'Download JSON' });
      download.addEventListener('click', () => downloadJson(res.text, fileName(provider, record)));
      const again = h('button', { type: 'button', class: 'btn', text: 'Harvest again' });
      listen(again, 'click', async () => {
        const ok = await confirmDialog({
          title: 'Harvest this month again?',
          message: `The ${record.reportName} report for ${monthLabel(month)} is requested from “${provider.label}” again. The stored month stays until the answer comes; it is replaced only when the provider’s data changed.`,
          confirmLabel: 'Harvest again',
        });
        if (!ok) return;
        const result = await harvestMonthAgain(provider.id, record);
        dialog.close();
        opts.onChanged(result.message, result.ok ? 'success' : 'error', result.ok);
      });
      const del = h('button', { type: 'button', class: 'btn btn-danger', text: 'Delete month' });
      listen(del, 'click', async () => {
        const ok = await confirmDialog({
          title: 'Delete this month?',
          message: `Delete the stored ${record.reportName} report for ${monthLabel(month)} (release ${record.release}) of “${provider.label}”? It is harvested again by the next harvest of the provider.`,
          confirmLabel: 'Delete month',
          danger: true,
        });
        if (!ok) return;
        const out = await api('DELETE', `/counter-reports/${encodeURIComponent(record.id)}`);
        dialog.close();
        if (out.ok)
          opts.onChanged(`${record.reportName} ${record.yearMonth} (release ${record.release}) deleted.`);
        else opts.onChanged(errorText(out), 'error');
      });
      const exportResult = h('p', { class: 'muted', 'aria-live': 'polite' });
      const exports =
        state === 'failed'
          ? []
          : ['tsv', 'csv', 'xlsx', 'json'].map((format) => {
              const href = `/counter-reports/export/${encodeURIComponent(record.id)}?format=${format}`;
              const b = h('button', {
                type: 'button',
                class: 'btn',
                text: format.toUpperCase(),
                dataset: { format, href },
              });
              listen(b, 'click', async () => {
                const out = await apiDownload(
                  href,
                  `${fileName(provider, record).replace(/\.json$/, '')}.${format}`,
                );
                replace(exportResult, out.message);
              });
              return b;
            });
      replace(
        section,
        opts.records.length > 1 && h('h3', { text: `Release ${record.release}` }),
        usageTotalsTable(record),
        exports.length > 0 &&
          h(
            'div',
            { class: 'form-actions', role: 'group', 'aria-label': 'Download as' },
            h('span', { text: 'Download as ' }),
            exports,
          ),
        exportResult,
        h(
          'dl',
          { class: 'details month-details' },
          rows.map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', {}, v))),
        ),
        record.failedReason &&
          h(
            'div',
            { class: 'reason' },
            h('h3', { text: 'Reason' }),
            h('p', { class: 'error-text mono', text: record.failedReason }),
          ),
        header &&
          h(
            'details',
            { class: 'report-header' },
            h('summary', { text: 'Report header' }),
            h('pre', { class: 'mono', text: JSON.stringify(header, null, 2) }),
          ),
        h('div', { class: 'form-actions' }, download, again, del),
      );
    })();
    return section;
  }
  return dialog;
}

/**
 * The month's usage per metric as the record carries it (`usageTotals`), or nothing.
 * @param {any} record
 */
function usageTotalsTable(record) {
  const totals = record.usageTotals;
  if (!totals || typeof totals !== 'object') return null;
  const metrics = Object.keys(totals).sort();
  if (metrics.length === 0) return h('p', { class: 'month-usage muted', text: 'No usage in this month.' });
  return h(
    'table',
    { class: 'data month-usage', id: 'month-usage' },
    h('caption', { text: 'Usage in this month' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', text: 'Metric' }),
        h('th', { scope: 'col', class: 'num', text: 'Total' }),
      ),
    ),
    h(
      'tbody',
      {},
      metrics.map((m) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row', text: m }),
          h('td', { class: 'num', text: Number(totals[m]).toLocaleString('en') }),
        ),
      ),
    ),
  );
}

/**
 * @param {any} provider
 * @param {any} record
 */
function fileName(provider, record) {
  const safe = (/** @type {unknown} */ s) =>
    String(s ?? '')
      .replace(/[^\w.-]+/g, '_')
      .replace(/^_+|_+$/g, '');
  return `${safe(provider.label) || 'provider'}_${safe(record.reportName)}_${safe(record.yearMonth)}_r${safe(record.release)}.json`;
}

/**
 * Saves a text as a JSON file through a temporary object URL.
 * @param {string} text
 * @param {string} name
 */
function downloadJson(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
