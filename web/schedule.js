/** Periodic schedule: show, set (POST, 201) and delete (DELETE, 204) the tenant's periodic harvest. */
import { api, errorText } from './api.js';
import { dateTime, h, listen, notice, replace } from './dom.js';

const PATH = '/erm-usage-harvester/periodic';
const INTERVALS = ['daily', 'weekly', 'monthly'];

/**
 * A `datetime-local` value for a date, in the browser's time zone.
 * @param {Date} d
 */
function localInputValue(d) {
  /** @param {number} n */
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** @returns {import('./app.js').Page} */
export function schedulePage() {
  const status = notice();
  const current = h('div', { class: 'card' }, h('p', { class: 'muted', text: 'Loading…' }));

  const startInput = /** @type {HTMLInputElement} */ (
    h('input', { id: 'periodic-start', name: 'startAt', type: 'datetime-local', required: true })
  );
  const intervalSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'periodic-interval', name: 'periodicInterval' },
      INTERVALS.map((i) => h('option', { value: i, text: i })),
    )
  );
  const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'card form', 'aria-labelledby': 'periodic-form-title', novalidate: true },
    h('h2', { id: 'periodic-form-title', text: 'Set the schedule' }),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'periodic-start', text: 'First start (your local time)' }),
        startInput,
        h('small', { class: 'hint', text: 'Also sets the time of day, weekday and day of month.' }),
      ),
      h('div', { class: 'field' }, h('label', { for: 'periodic-interval', text: 'Repeat' }), intervalSelect),
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
    formError.hidden = true;
    const start = new Date(startInput.value);
    if (!startInput.value || Number.isNaN(start.getTime())) {
      formError.textContent = 'Please enter the first start.';
      formError.hidden = false;
      return;
    }
    const res = await api('POST', PATH, {
      startAt: start.toISOString(),
      periodicInterval: intervalSelect.value,
    });
    if (res.status === 201) {
      status.show('success', `Schedule saved: ${intervalSelect.value} from ${start.toLocaleString()}.`);
      await load();
    } else {
      formError.textContent = errorText(res);
      formError.hidden = false;
    }
  });

  async function remove() {
    if (!window.confirm('Delete the periodic schedule? Planned periodic harvests will no longer run.'))
      return;
    const res = await api('DELETE', PATH);
    if (res.status === 204) status.show('success', 'Schedule deleted.');
    else if (res.status === 404) status.show('info', 'There was no schedule.');
    else status.show('error', errorText(res));
    await load();
  }

  async function load() {
    const res = await api('GET', PATH);
    if (res.status === 404) {
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
      replace(current, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return;
    }
    const cfg = res.json ?? {};
    replace(
      current,
      h('h2', { text: 'Current schedule' }),
      h(
        'dl',
        { class: 'details', id: 'periodic-current' },
        h('div', {}, h('dt', { text: 'Repeats' }), h('dd', { text: cfg.periodicInterval ?? '—' })),
        h('div', {}, h('dt', { text: 'Starting at' }), h('dd', {}, dateTime(cfg.startAt))),
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
      h('a', { href: '#/jobs', text: 'Jobs' }),
      ' page.',
    ),
    h('div', { class: 'two-col' }, current, form),
  );
  return { el, title: 'Schedule' };
}
