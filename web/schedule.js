/**
 * Periodic schedule of the tenant: show (GET 200/404), set (POST 201; 400 text or 422 errors for bad
 * values) and delete (DELETE 204/404). Failures with an empty body (500) get a message of their own.
 */
import { api, apiErrors, errorText, qs } from './api.js';
import { confirmDialog, dateTime, h, listen, notice, replace } from './dom.js';
import { clearErrors, field, input, select, showErrors } from './forms.js';

const PATH = '/erm-usage-harvester/periodic';
const INTERVALS = ['daily', 'weekly', 'monthly'];
const FIELDS = ['startAt', 'periodicInterval'];

/**
 * A `datetime-local` value for a date, in the browser's time zone.
 * @param {Date} d
 */
function localInputValue(d) {
  /** @param {number} n */
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * The text for a failed answer; 500s of this endpoint have no body.
 * @param {import('./api.js').ApiResponse} res
 * @param {string} doing e.g. 'save the schedule'
 */
function failure(res, doing) {
  if (res.status >= 500 && !res.text)
    return `The service could not ${doing} (HTTP ${res.status}). See its log.`;
  return errorText(res);
}

/**
 * The API's errors placed on the form's fields: 422 names them in `parameters`, a 400 text names them.
 * @param {import('./api.js').ApiResponse} res
 */
function scheduleErrors(res) {
  if (res.status === 422)
    return apiErrors(res).map((e) => ({
      message: e.fields.length ? `${e.fields.join(', ')}: ${e.message}` : e.message,
      fields: e.fields,
    }));
  const text = failure(res, 'save the schedule');
  return [{ message: text, fields: FIELDS.filter((f) => text.includes(f)) }];
}

/** @returns {import('./app.js').Page} */
export function schedulePage() {
  const status = notice();
  const current = h(
    'div',
    { class: 'card', id: 'periodic-card' },
    h('p', { class: 'muted', text: 'Loading…' }),
  );
  /** The stored configuration; sent back with the new values so that `lastTriggeredAt` is kept. */
  /** @type {Record<string, unknown> | undefined} */
  let stored;

  const startInput = input({ type: 'datetime-local', required: true });
  const intervalSelect = select(INTERVALS.map((i) => ({ value: i, text: i })));
  const formError = h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const form = h(
    'form',
    { class: 'card form', id: 'periodic-form', 'aria-labelledby': 'periodic-form-title', novalidate: true },
    h('h2', { id: 'periodic-form-title', text: 'Set the schedule' }),
    h(
      'div',
      { class: 'grid' },
      field({
        id: 'periodic-start',
        label: 'First start (your local time)',
        path: 'startAt',
        control: startInput,
        hint: 'Also sets the time of day, weekday and day of month.',
      }),
      field({ id: 'periodic-interval', label: 'Repeat', path: 'periodicInterval', control: intervalSelect }),
    ),
    formError,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save schedule' }),
    ),
  );
  listen(form, 'submit', async (event) => {
    event.preventDefault();
    clearErrors(form, formError);
    const start = new Date(startInput.value);
    if (!startInput.value || Number.isNaN(start.getTime())) {
      showErrors(form, formError, [{ message: 'Enter the first start.', fields: ['startAt'] }]);
      return;
    }
    const res = await api('POST', PATH, {
      ...stored,
      startAt: start.toISOString(),
      periodicInterval: intervalSelect.value,
    });
    if (res.status === 201) {
      status.show('success', `Schedule saved: ${intervalSelect.value} from ${start.toLocaleString()}.`);
      await load();
    } else showErrors(form, formError, scheduleErrors(res));
  });

  async function remove() {
    const ok = await confirmDialog({
      title: 'Delete the schedule?',
      message: 'Planned periodic harvests will no longer run. Jobs started before stay.',
      confirmLabel: 'Delete schedule',
      danger: true,
    });
    if (!ok) return;
    const res = await api('DELETE', PATH);
    if (res.status === 204) status.show('success', 'Schedule deleted.');
    else if (res.status === 404) status.show('info', 'There was no schedule.');
    else status.show('error', failure(res, 'delete the schedule'));
    await load();
  }

  /** The next planned run: the periodic job waiting for its start. */
  async function nextRun() {
    const res = await api(
      'GET',
      '/erm-usage-harvester/jobs?' +
        qs({ limit: 1, query: 'type=="periodic" and nextStart="" sortby nextStart' }),
    );
    return res.json?.jobInfos?.[0]?.nextStart;
  }

  async function load() {
    const res = await api('GET', PATH);
    if (res.status === 404) {
      stored = undefined;
      replace(
        current,
        h('h2', { text: 'Current schedule' }),
        h('p', { id: 'periodic-current', text: 'No periodic harvest is scheduled.' }),
      );
      if (!startInput.value) {
        const next = new Date(Date.now() + 60 * 60_000);
        next.setMinutes(0, 0, 0);
        startInput.value = localInputValue(next);
      }
      return;
    }
    if (!res.ok) {
      replace(
        current,
        h('p', { class: 'notice notice-error', role: 'alert', text: failure(res, 'read the schedule') }),
      );
      return;
    }
    const cfg = res.json ?? {};
    stored = cfg;
    const next = await nextRun();
    replace(
      current,
      h('h2', { text: 'Current schedule' }),
      h(
        'dl',
        { class: 'details', id: 'periodic-current' },
        h('div', {}, h('dt', { text: 'Repeats' }), h('dd', { text: cfg.periodicInterval ?? '—' })),
        h('div', {}, h('dt', { text: 'Starting at' }), h('dd', {}, dateTime(cfg.startAt))),
        h('div', {}, h('dt', { text: 'Next run' }), h('dd', { id: 'periodic-next' }, dateTime(next))),
        h('div', {}, h('dt', { text: 'Last triggered' }), h('dd', {}, dateTime(cfg.lastTriggeredAt))),
      ),
      h(
        'div',
        { class: 'form-actions' },
        h('button', {
          type: 'button',
          class: 'btn btn-danger',
          text: 'Delete schedule',
          onclick: () => void remove(),
        }),
      ),
    );
    const start = new Date(cfg.startAt);
    if (!Number.isNaN(start.getTime())) startInput.value = localInputValue(start);
    if (INTERVALS.includes(cfg.periodicInterval)) intervalSelect.value = cfg.periodicInterval;
  }
  void load();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'schedule-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'schedule-title', text: 'Periodic harvesting' })),
    status.el,
    h(
      'p',
      { class: 'intro' },
      'Harvest all active providers of the tenant at a fixed time every day, week or month. Each run is listed on the ',
      h('a', { href: '#/jobs?type=periodic', text: 'Jobs' }),
      ' page.',
    ),
    h('div', { class: 'two-col' }, current, form),
  );
  return { el, title: 'Schedule' };
}
