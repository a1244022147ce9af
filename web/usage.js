/**
 * The usage pages: `#/usage` (all providers of the tenant) and `#/usage/<providerId>` (one provider). A
 * bar chart of the totals per month of one metric (SVG drawn here, no library), the totals table, the top
 * items, download buttons for any report or standard view and range (the export URLs of the store), and,
 * for a provider, the upload of a COUNTER file with the overwrite choice. Numbers come from `/usage/*`,
 * which never reads the stored reports.
 */
import { api, apiDownload, apiUpload, errorText, qs } from './api.js';
import { h, listen, notice, replace } from './dom.js';
import { addMonths, monthLabel } from './months.js';

/** Standard views of each master report (COUNTER 5 and 5.1). */
const VIEWS = /** @type {Record<string, string[]>} */ ({
  PR: ['PR_P1'],
  DR: ['DR_D1', 'DR_D2'],
  TR: ['TR_B1', 'TR_B2', 'TR_B3', 'TR_J1', 'TR_J2', 'TR_J3', 'TR_J4'],
  IR: ['IR_A1', 'IR_M1'],
});
const FORMATS = ['tsv', 'csv', 'xlsx', 'json'];
const SVG = 'http://www.w3.org/2000/svg';

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {...(Element | string)} children
 */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Every month from `from` to `to`. @param {string} from @param {string} to */
function monthsBetween(from, to) {
  /** @type {string[]} */
  const out = [];
  for (let m = from; m <= to && out.length < 600; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** A round upper bound for the axis. @param {number} max */
function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * power >= max) ?? 10;
  return step * power;
}

/**
 * Bar chart of one metric per month; months without usage are 0. Each bar has a title (tooltip) with
 * the month and the value; the table below is the accessible form of the same numbers.
 * @param {{ yearMonth: string, totals: Record<string, number> }[]} months
 * @param {string} metric
 * @param {string} from
 * @param {string} to
 */
export function barChart(months, metric, from, to) {
  const axis = monthsBetween(from, to);
  const values = new Map(months.map((m) => [m.yearMonth, m.totals[metric] ?? 0]));
  const max = niceMax(Math.max(0, ...axis.map((m) => values.get(m) ?? 0)));
  const width = 760;
  const height = 260;
  const left = 56;
  const bottom = 28;
  const top = 10;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const slot = plotW / Math.max(1, axis.length);
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'usage-chart',
    role: 'img',
    'aria-label': `${metric} per month, ${from} to ${to}`,
  });
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    chart.append(
      svg('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'grid' }),
      svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, String((max * i) / 4)),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(axis.length / 12));
  axis.forEach((month, i) => {
    const value = values.get(month) ?? 0;
    const barH = (plotH * value) / max;
    const x = left + i * slot + slot * 0.1;
    const bar = svg(
      'rect',
      {
        x,
        y: top + plotH - barH,
        width: Math.max(1, slot * 0.8),
        height: barH,
        class: values.has(month) ? 'bar' : 'bar bar-none',
        'data-month': month,
        'data-value': value,
      },
      svg('title', {}, `${monthLabel(month)}: ${value.toLocaleString('en')} ${metric}`),
    );
    chart.append(bar);
    if (i % labelEvery === 0)
      chart.append(
        svg(
          'text',
          { x: x + slot * 0.4, y: height - 10, 'text-anchor': 'middle', class: 'tick' },
          month.slice(5) === '01' || i === 0 ? month : month.slice(5),
        ),
      );
  });
  return chart;
}

/**
 * The export path of a report or view of a provider for a range (the store's export route).
 * @param {string} providerId
 * @param {string} report
 * @param {string} release
 * @param {string} from
 * @param {string} to
 * @param {string} format
 */
export function exportPath(providerId, report, release, from, to, format) {
  const p = encodeURIComponent;
  return `/counter-reports/export/provider/${p(providerId)}/report/${p(report)}/version/${p(release)}/from/${p(from)}/to/${p(to)}?format=${format}`;
}

/**
 * @param {string | undefined} providerId undefined: the tenant's page
 * @param {URLSearchParams} params `report`, `metric`, `from`, `to`
 * @returns {import('./app.js').Page}
 */
export function usagePage(providerId, params) {
  const status = notice();
  const abort = new AbortController();
  const title = h('h1', { id: 'usage-title', text: providerId ? 'Usage' : 'Usage of all providers' });
  const controls = h('form', { class: 'usage-controls', id: 'usage-controls' });
  const chartHolder = h('div', { class: 'chart-wrap', id: 'usage-chart' });
  const totalsHolder = h('div', { class: 'table-wrap', id: 'usage-totals' });
  const topHolder = h('div', { class: 'table-wrap', id: 'usage-top' });
  const downloads = h('div', { id: 'usage-downloads' });
  const uploadCard = h('section', { class: 'card', id: 'usage-upload', 'aria-labelledby': 'upload-title' });
  /** @type {any[]} */
  let reports = [];
  /** @type {any} */
  let provider;

  /** @param {string} name @param {string[]} options @param {string} value @param {string} label */
  function select(name, options, value, label) {
    const el = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { name, id: `usage-${name}` },
        options.map((o) => h('option', { value: o, text: o, selected: o === value })),
      )
    );
    return { el, wrap: h('label', {}, h('span', { text: label }), el) };
  }

  async function load() {
    const [summary, prov] = await Promise.all([
      api('GET', `/usage/reports?${qs({ providerId })}`, undefined, { signal: abort.signal }),
      providerId
        ? api('GET', `/usage-data-providers/${encodeURIComponent(providerId)}`, undefined, {
            signal: abort.signal,
          })
        : Promise.resolve(undefined),
    ]);
    if (abort.signal.aborted) return;
    if (prov && !prov.ok) return status.show('error', errorText(prov));
    provider = prov?.json;
    if (provider)
      replace(title, 'Usage · ', h('a', { href: `#/providers/${provider.id}`, text: provider.label }));
    if (!summary.ok) return status.show('error', errorText(summary));
    reports = summary.json?.reports ?? [];
    if (reports.length === 0) {
      replace(controls, h('p', { class: 'muted', text: 'No usage stored yet.' }));
      replace(chartHolder);
      replace(totalsHolder);
      replace(topHolder);
      renderDownloads(undefined);
      return;
    }
    renderControls();
  }

  function renderControls() {
    const names = [...new Set(reports.map((r) => r.reportName))];
    const reportName = names.find((n) => n === params.get('report')?.toUpperCase()) ?? names[0];
    const summary = reports.find((r) => r.reportName === reportName);
    const metrics = [
      ...new Set(reports.filter((r) => r.reportName === reportName).flatMap((r) => r.metrics)),
    ];
    const preferred = ['Total_Item_Requests', 'Searches_Platform', 'Total_Item_Investigations'];
    const metric =
      metrics.find((m) => m === params.get('metric')) ??
      preferred.find((m) => metrics.includes(m)) ??
      metrics[0];
    const report = select('report', names, reportName, 'Report');
    const metricSel = select('metric', metrics, metric, 'Metric');
    const from = h('input', {
      type: 'month',
      name: 'from',
      id: 'usage-from',
      value: params.get('from') ?? summary.first,
    });
    const to = h('input', {
      type: 'month',
      name: 'to',
      id: 'usage-to',
      value: params.get('to') ?? summary.last,
    });
    replace(
      controls,
      report.wrap,
      metricSel.wrap,
      h('label', {}, h('span', { text: 'From' }), from),
      h('label', {}, h('span', { text: 'To' }), to),
    );
    const apply = () => {
      const next = new URLSearchParams({
        report: report.el.value,
        metric: report.el.value === reportName ? metricSel.el.value : '',
        from: /** @type {HTMLInputElement} */ (from).value,
        to: /** @type {HTMLInputElement} */ (to).value,
      });
      for (const [k, v] of [...next]) if (!v) next.delete(k);
      if (report.el.value !== reportName) {
        next.delete('from');
        next.delete('to');
      }
      params = next;
      const hash = `#/usage${providerId ? `/${providerId}` : ''}?${next}`;
      window.history.replaceState(null, '', hash);
      renderControls();
    };
    for (const el of [report.el, metricSel.el, from, to]) el.addEventListener('change', apply);
    void renderData(
      reportName,
      metric,
      /** @type {HTMLInputElement} */ (from).value,
      /** @type {HTMLInputElement} */ (to).value,
      summary.release,
    );
  }

  /**
   * @param {string} report
   * @param {string} metric
   * @param {string} from
   * @param {string} to
   * @param {string} release
   */
  async function renderData(report, metric, from, to, release) {
    const query = { providerId, report, from, to };
    const [totals, top] = await Promise.all([
      api('GET', `/usage/totals?${qs(query)}`, undefined, { signal: abort.signal }),
      api('GET', `/usage/top?${qs({ ...query, metric, limit: 10 })}`, undefined, { signal: abort.signal }),
    ]);
    if (abort.signal.aborted) return;
    if (!totals.ok) return status.show('error', errorText(totals));
    if (!top.ok) return status.show('error', errorText(top));
    status.show('info', '');
    const answer = totals.json;
    replace(chartHolder, h('h2', { text: `${metric} per month` }), barChart(answer.months, metric, from, to));
    replace(
      totalsHolder,
      h(
        'table',
        { class: 'data', id: 'usage-totals-table' },
        h('caption', { class: 'sr-only', text: `${report} totals per month and metric` }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'Month' }),
            answer.metrics.map((/** @type {string} */ m) => h('th', { scope: 'col', class: 'num', text: m })),
          ),
        ),
        h(
          'tbody',
          {},
          answer.months.map((/** @type {any} */ m) =>
            h(
              'tr',
              { dataset: { month: m.yearMonth } },
              h('th', { scope: 'row', text: m.yearMonth }),
              answer.metrics.map((/** @type {string} */ k) =>
                h('td', { class: 'num', text: (m.totals[k] ?? 0).toLocaleString('en') }),
              ),
            ),
          ),
          h(
            'tr',
            { class: 'total-row' },
            h('th', { scope: 'row', text: 'Total' }),
            answer.metrics.map((/** @type {string} */ k) =>
              h('td', { class: 'num', text: (answer.total[k] ?? 0).toLocaleString('en') }),
            ),
          ),
        ),
      ),
    );
    const items = top.json?.items ?? [];
    replace(
      topHolder,
      h('h2', { text: `Top items by ${metric}` }),
      items.length === 0
        ? h('p', { class: 'muted', text: 'No items with this metric in the range.' })
        : h(
            'table',
            { class: 'data', id: 'usage-top-table' },
            h('caption', { class: 'sr-only', text: `Top items by ${metric}` }),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['#', 'Item', 'Platform', ...(providerId ? [] : ['Provider']), metric].map((t) =>
                  h('th', { scope: 'col', text: t }),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              items.map((/** @type {any} */ it, /** @type {number} */ i) =>
                h(
                  'tr',
                  {},
                  h('td', { text: String(i + 1) }),
                  h('td', { text: it.name ?? Object.values(it.identifiers ?? {}).join(', ') }),
                  h('td', { text: it.platform ?? '' }),
                  providerId
                    ? null
                    : h('td', {}, h('a', { href: `#/usage/${it.providerId}`, text: 'usage' })),
                  h('td', { class: 'num', text: Number(it.count).toLocaleString('en') }),
                ),
              ),
            ),
          ),
      h('p', {
        class: 'muted small',
        text: 'Ranked from each month’s 25 most used items: a count is a lower bound when an item was not among them every month.',
      }),
    );
    renderDownloads({ report, from, to, release });
  }

  /** @param {{ report: string, from: string, to: string, release: string } | undefined} current */
  function renderDownloads(current) {
    if (!providerId || !current) {
      replace(
        downloads,
        !providerId &&
          h('p', { class: 'muted', text: 'Downloads are per provider: open a provider’s usage page.' }),
      );
      return;
    }
    const master = current.report.slice(0, 2);
    const choices = [current.report, ...(current.report === master ? (VIEWS[master] ?? []) : [])];
    const which = select('download-report', choices, current.report, 'Report or view');
    const result = notice();
    const buttons = FORMATS.map((format) => {
      const button = h('button', {
        type: 'button',
        class: 'btn',
        text: format.toUpperCase(),
        dataset: { format },
      });
      const pathFor = () =>
        exportPath(providerId, which.el.value, current.release, current.from, current.to, format);
      const sync = () => (button.dataset.href = pathFor());
      sync();
      which.el.addEventListener('change', sync);
      listen(button, 'click', async () => {
        result.show('info', 'Preparing the file…');
        const out = await apiDownload(pathFor(), `${which.el.value}_${current.from}_${current.to}.${format}`);
        result.show(out.ok ? 'success' : 'error', out.message);
      });
      return button;
    });
    replace(
      downloads,
      h('h2', { text: 'Download' }),
      h(
        'div',
        { class: 'usage-controls' },
        which.wrap,
        h('span', { class: 'muted', text: ` ${current.from} to ${current.to}, release ${current.release}` }),
      ),
      h('div', { class: 'form-actions', role: 'group', 'aria-label': 'Formats' }, buttons),
      result.el,
    );
  }

  function renderUpload() {
    if (!providerId) return;
    const file = /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'file',
        id: 'upload-file',
        name: 'file',
        required: true,
        accept: '.json,.tsv,.csv,.xlsx',
      })
    );
    const overwrite = /** @type {HTMLInputElement} */ (
      h('input', { type: 'checkbox', id: 'upload-overwrite', name: 'overwrite' })
    );
    const result = notice();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Upload' });
    const form = h(
      'form',
      { id: 'upload-form', class: 'upload-form' },
      h(
        'label',
        { for: 'upload-file' },
        h('span', { text: 'COUNTER file (R5 JSON; R5 or R4 TSV, CSV or XLSX)' }),
      ),
      file,
      h(
        'label',
        { class: 'check' },
        overwrite,
        h('span', {
          text: ' Replace months already stored (otherwise the upload is refused and names them)',
        }),
      ),
      h('div', { class: 'form-actions' }, submit),
      result.el,
    );
    listen(form, 'submit', async (event) => {
      event.preventDefault();
      const chosen = file.files?.[0];
      if (!chosen) return result.show('error', 'Choose a file first.');
      submit.setAttribute('disabled', '');
      result.show('info', `Uploading ${chosen.name}…`);
      const res = await apiUpload(
        `/counter-reports/multipartupload/provider/${encodeURIComponent(providerId)}?overwrite=${overwrite.checked}`,
        chosen,
      );
      submit.removeAttribute('disabled');
      if (res.ok) {
        const count = res.text
          .replace(/^Saved report with ids:\s*/, '')
          .split(',')
          .filter(Boolean).length;
        result.show('success', `${chosen.name}: ${count} month${count === 1 ? '' : 's'} stored.`);
        await load();
        return;
      }
      const detail = res.json?.details ? ` ${res.json.details}` : '';
      result.show('error', `${res.json?.message ?? errorText(res)}${detail}`);
    });
    replace(
      uploadCard,
      h('h2', { id: 'upload-title', text: 'Upload a COUNTER file' }),
      h('p', {
        class: 'muted',
        text: 'All months of the file are stored, or none: a file with a fault is refused with the row and column at fault.',
      }),
      form,
    );
  }

  // Rendered once: a reload of the numbers after an upload keeps the form and its notice.
  renderUpload();
  void load();
  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'usage-title' },
    h('div', { class: 'page-head' }, title),
    status.el,
    h('section', { class: 'card' }, controls, chartHolder, totalsHolder),
    h('section', { class: 'card' }, topHolder),
    h('section', { class: 'card' }, downloads),
    providerId && uploadCard,
  );
  return { el, title: 'Usage', dispose: () => abort.abort() };
}
