/** Providers page: search, the provider table, harvest buttons and the "Add provider" form. */
import { api, cqlQuote, errorText, qs } from './api.js';
import { h, hostOf, listen, notice, replace, dataTable } from './dom.js';

const PAGE_SIZE = 50;

/** Service types a provider can be harvested with directly, and the COUNTER release each one speaks. */
export const SERVICE_TYPES = [
  { type: 'cs51', name: 'COUNTER 5.1', release: '5.1' },
  { type: 'cs50', name: 'COUNTER 5', release: '5' },
  { type: 'cs41', name: 'COUNTER-SUSHI 4.1', release: '4' },
];

/** Reports offered when the service's /impl answer is not available. */
const FALLBACK_REPORTS = {
  cs51: ['DR', 'IR', 'PR', 'TR'],
  cs50: ['DR', 'IR', 'PR', 'TR'],
  cs41: ['BR1', 'BR2', 'DB1', 'JR1', 'PR1'],
};

/** Reports ticked by default in the form. */
const DEFAULT_REPORTS = ['TR', 'JR1'];

/**
 * The CQL of the search box: every word must occur in label, description or aggregator name, as a prefix.
 * @param {string} text
 */
export function providerQuery(text) {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '(cql.allRecords=1) sortby label';
  const term = words.map((w) => cqlQuote(w).slice(1, -1) + '*').join(' ');
  return `keywords all "${term}" sortby label`;
}

/** @returns {import('./app.js').Page} */
export function providersPage() {
  const status = notice();
  let offset = 0;
  let search = '';

  const searchInput = h('input', {
    id: 'provider-search',
    type: 'search',
    name: 'q',
    placeholder: 'Label, description or aggregator',
    autocomplete: 'off',
  });
  const searchForm = h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        search = /** @type {HTMLInputElement} */ (searchInput).value;
        offset = 0;
        void load();
      },
    },
    h('label', { for: 'provider-search', class: 'sr-only', text: 'Search providers' }),
    searchInput,
    h('button', { type: 'submit', class: 'btn', text: 'Search' }),
  );

  const addButton = h('button', {
    type: 'button',
    class: 'btn',
    'aria-expanded': 'false',
    'aria-controls': 'add-provider',
    text: 'Add provider',
  });
  const harvestAllButton = h('button', {
    type: 'button',
    class: 'btn btn-primary',
    text: 'Harvest all',
    title: 'Harvest every active provider of this tenant',
  });
  listen(harvestAllButton, 'click', async () => {
    harvestAllButton.setAttribute('disabled', '');
    const res = await api('GET', '/erm-usage-harvester/start');
    harvestAllButton.removeAttribute('disabled');
    if (res.ok) status.show('success', res.json?.message ?? 'Harvesting scheduled');
    else status.show('error', errorText(res));
  });

  const form = addProviderForm(async (record) => {
    status.show('success', `Provider “${record.label}” added.`);
    toggleForm(false);
    await load();
  });
  form.el.hidden = true;
  /** @param {boolean} open */
  function toggleForm(open) {
    form.el.hidden = !open;
    addButton.setAttribute('aria-expanded', String(open));
    addButton.textContent = open ? 'Close form' : 'Add provider';
    if (open) form.focus();
  }
  addButton.addEventListener('click', () => toggleForm(form.el.hidden));

  const tableHolder = h('div', { class: 'table-wrap' }, h('p', { class: 'muted', text: 'Loading…' }));
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });

  async function load() {
    const res = await api(
      'GET',
      '/usage-data-providers?' + qs({ limit: PAGE_SIZE, offset, query: providerQuery(search) }),
    );
    if (!res.ok) {
      replace(tableHolder, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      replace(count);
      replace(pager);
      return;
    }
    /** @type {any[]} */
    const providers = res.json?.usageDataProviders ?? [];
    const total = res.json?.totalRecords ?? providers.length;
    replace(
      count,
      total === 0
        ? 'No providers'
        : `${offset + 1}–${offset + providers.length} of ${total} provider${total === 1 ? '' : 's'}`,
    );
    replace(tableHolder, providers.length ? providerTable(providers, status) : emptyState(search));
    replace(
      pager,
      offset > 0 &&
        h('button', {
          type: 'button',
          class: 'btn',
          text: '← Previous',
          onclick: () => {
            offset = Math.max(0, offset - PAGE_SIZE);
            void load();
          },
        }),
      offset + providers.length < total &&
        h('button', {
          type: 'button',
          class: 'btn',
          text: 'Next →',
          onclick: () => {
            offset += PAGE_SIZE;
            void load();
          },
        }),
    );
  }
  void load();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'providers-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'providers-title', text: 'Usage data providers' }),
      h('div', { class: 'actions' }, addButton, harvestAllButton),
    ),
    status.el,
    form.el,
    h('div', { class: 'toolbar' }, searchForm, count),
    tableHolder,
    pager,
  );
  return { el, title: 'Providers' };
}

/** @param {string} search */
function emptyState(search) {
  return h(
    'p',
    { class: 'empty' },
    search ? `No provider matches “${search}”.` : 'No providers yet. Add one with “Add provider”.',
  );
}

/**
 * @param {any[]} providers
 * @param {ReturnType<typeof notice>} status
 */
function providerTable(providers, status) {
  const headers = [
    'Label',
    'Status',
    'Service',
    'Latest report',
    'Earliest report',
    'Failed',
    'Error codes',
    'Actions',
  ];
  return dataTable(
    { id: 'providers-table', caption: 'Usage data providers' },
    headers,
    providers.map((p) => {
      const sushi = p.harvestingConfig?.sushiConfig ?? {};
      const aggregator = p.harvestingConfig?.aggregator;
      const via =
        p.harvestingConfig?.harvestVia === 'aggregator'
          ? `via ${aggregator?.name ?? 'aggregator'}`
          : `${sushi.serviceType ?? '—'} · ${hostOf(sushi.serviceUrl) || '—'}`;
      const failed = p.hasFailedReport === 'yes';
      /** @type {string[]} */
      const codes = p.reportErrorCodes ?? [];
      const harvestButton = h('button', {
        type: 'button',
        class: 'btn btn-small',
        text: 'Harvest',
        'aria-label': `Harvest ${p.label}`,
      });
      listen(harvestButton, 'click', async () => {
        harvestButton.setAttribute('disabled', '');
        const res = await api('GET', `/erm-usage-harvester/start/${encodeURIComponent(p.id)}`);
        harvestButton.removeAttribute('disabled');
        if (res.ok) status.show('success', res.json?.message ?? 'Harvesting scheduled');
        else status.show('error', errorText(res));
      });
      return h(
        'tr',
        { dataset: { id: p.id } },
        h(
          'th',
          { scope: 'row' },
          h('a', { href: `#/providers/${encodeURIComponent(p.id)}`, text: p.label ?? '(no label)' }),
          p.description && h('div', { class: 'sub', text: p.description }),
        ),
        h('td', {}, statusBadge(p)),
        h('td', { title: sushi.serviceUrl ?? '', text: via }),
        h('td', { class: 'mono', text: p.latestReport ?? '—' }),
        h('td', { class: 'mono', text: p.earliestReport ?? '—' }),
        h('td', {}, h('span', { class: failed ? 'badge badge-bad' : 'badge', text: failed ? 'yes' : 'no' })),
        h('td', { class: 'mono', text: codes.length ? codes.join(', ') : '—' }),
        h('td', { class: 'actions-cell' }, harvestButton),
      );
    }),
  );
}

/** @param {any} p a provider */
function statusBadge(p) {
  const active = p.status === 'active';
  const harvesting = p.harvestingConfig?.harvestingStatus === 'active';
  const text = active ? (harvesting ? 'active' : 'active, not harvested') : (p.status ?? 'unknown');
  return h('span', { class: active && harvesting ? 'badge badge-good' : 'badge', text });
}

/**
 * The "Add provider" form. Calls `onCreated(record)` after a 201; shows a 422's first message next to it.
 * @param {(record: any) => Promise<void>} onCreated
 */
function addProviderForm(onCreated) {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'add-provider-error', hidden: true });
  /**
   * @param {string} id
   * @param {string} label
   * @param {Record<string, any>} attrs
   * @param {string} [hint]
   */
  const field = (id, label, attrs, hint) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: id, text: label }),
      h('input', {
        id,
        name: id,
        'aria-describedby': hint ? `${id}-hint` : null,
        ...attrs,
      }),
      hint && h('small', { id: `${id}-hint`, class: 'hint', text: hint }),
    );

  const typeSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'udp-type', name: 'serviceType' },
      SERVICE_TYPES.map((s) => h('option', { value: s.type, text: `${s.type} — ${s.name}` })),
    )
  );
  const release = h('output', { id: 'udp-release', for: 'udp-type', class: 'mono' });
  const reportsBox = h('div', { class: 'checks' });
  /** @type {Record<string, string[]>} */
  const reportsByType = { ...FALLBACK_REPORTS };

  function typeChanged() {
    const s = SERVICE_TYPES.find((x) => x.type === typeSelect.value) ?? SERVICE_TYPES[0];
    release.textContent = s.release;
    const previous = new Set(
      [...reportsBox.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value),
    );
    const names = reportsByType[s.type] ?? [];
    replace(
      reportsBox,
      names.map((name) =>
        h(
          'label',
          { class: 'check' },
          h('input', {
            type: 'checkbox',
            name: 'report',
            value: name,
            checked: previous.has(name) || (previous.size === 0 && DEFAULT_REPORTS.includes(name)),
          }),
          name,
        ),
      ),
    );
  }
  typeSelect.addEventListener('change', typeChanged);
  typeChanged();
  // The reports each implementation supports, from the service itself.
  void api('GET', '/erm-usage-harvester/impl').then((res) => {
    for (const impl of res.json?.implementations ?? []) {
      if (impl.type in reportsByType && Array.isArray(impl.supportedReports) && impl.supportedReports.length)
        reportsByType[impl.type] = impl.supportedReports;
    }
    typeChanged();
  });

  const formEl = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id: 'add-provider', class: 'card form', 'aria-labelledby': 'add-provider-title', novalidate: true },
      h('h2', { id: 'add-provider-title', text: 'Add provider' }),
      h(
        'div',
        { class: 'grid' },
        field('udp-label', 'Label', { required: true, autocomplete: 'off' }),
        h('div', { class: 'field' }, h('label', { for: 'udp-type', text: 'Service type' }), typeSelect),
        field(
          'udp-url',
          'Service URL',
          { type: 'url', required: true, placeholder: 'https://sushi.example.org/counter' },
          'The SUSHI base URL, without /reports',
        ),
        h(
          'div',
          { class: 'field' },
          h('span', { class: 'label', id: 'udp-release-label', text: 'Report release' }),
          h('div', { class: 'static', 'aria-labelledby': 'udp-release-label' }, release),
        ),
      ),
      h('fieldset', { class: 'field' }, h('legend', { text: 'Requested reports' }), reportsBox),
      h(
        'div',
        { class: 'grid' },
        field('udp-customer', 'Customer ID', { autocomplete: 'off' }),
        field('udp-requestor', 'Requestor ID', { autocomplete: 'off', type: 'password' }),
        field('udp-apikey', 'API key', { autocomplete: 'new-password', type: 'password' }),
        field('udp-platform', 'Platform', { autocomplete: 'off' }),
        field(
          'udp-start',
          'Harvesting start',
          { type: 'month', required: true, placeholder: 'yyyy-mm' },
          'yyyy-mm',
        ),
        field('udp-end', 'Harvesting end', { type: 'month', placeholder: 'yyyy-mm' }, 'optional, yyyy-mm'),
      ),
      error,
      h(
        'div',
        { class: 'form-actions' },
        h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create provider' }),
      ),
    )
  );

  /** @param {string} id */
  const value = (id) => /** @type {HTMLInputElement} */ (formEl.querySelector('#' + id)).value.trim();

  listen(formEl, 'submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const reports = [...reportsBox.querySelectorAll('input:checked')].map(
      (i) => /** @type {HTMLInputElement} */ (i).value,
    );
    const missing = [];
    if (!value('udp-label')) missing.push('a label');
    if (!value('udp-url')) missing.push('a service URL');
    if (!value('udp-start')) missing.push('a harvesting start');
    if (reports.length === 0) missing.push('at least one report');
    if (missing.length) {
      error.textContent = `Please enter ${missing.join(', ')}.`;
      error.hidden = false;
      return;
    }
    const s = SERVICE_TYPES.find((x) => x.type === typeSelect.value) ?? SERVICE_TYPES[0];
    /** @type {Record<string, string>} */
    const credentials = {};
    for (const [key, id] of [
      ['customerId', 'udp-customer'],
      ['requestorId', 'udp-requestor'],
      ['apiKey', 'udp-apikey'],
      ['platform', 'udp-platform'],
    ]) {
      if (value(id)) credentials[key] = value(id);
    }
    const record = {
      label: value('udp-label'),
      status: 'active',
      harvestingConfig: {
        harvestingStatus: 'active',
        harvestVia: 'sushi',
        sushiConfig: { serviceType: s.type, serviceUrl: value('udp-url') },
        reportRelease: s.release,
        requestedReports: reports,
        harvestingStart: value('udp-start'),
        ...(value('udp-end') ? { harvestingEnd: value('udp-end') } : {}),
      },
      sushiCredentials: credentials,
    };
    const submit = /** @type {HTMLButtonElement} */ (formEl.querySelector('button[type=submit]'));
    submit.disabled = true;
    const res = await api('POST', '/usage-data-providers', record);
    submit.disabled = false;
    if (res.status === 201) {
      formEl.reset();
      typeChanged();
      await onCreated(res.json ?? record);
    } else {
      error.textContent = errorText(res);
      error.hidden = false;
    }
  });

  return {
    el: formEl,
    focus() {
      /** @type {HTMLInputElement} */ (formEl.querySelector('#udp-label')).focus();
    },
  };
}
