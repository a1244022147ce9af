/**
 * The provider form, for adding (on the providers page) and editing (its own page): every field a FOLIO
 * eUsage user edits. Editing starts from the stored record and changes only what the form shows, so
 * fields it does not know (tags, metadata, …) are sent back unchanged; credentials are never displayed.
 */
import { api, apiAll, errorText } from './api.js';
import { h, notice, replace, setFlash } from './dom.js';
import { credentialField, field, input, saveOnSubmit, select } from './forms.js';
import { toMonth } from './months.js';
import { registrySearch } from './registry-search.js';

/** Service types a provider can be harvested with directly, and the COUNTER release each one speaks. */
export const SERVICE_TYPES = [
  { type: 'cs51', name: 'COUNTER 5.1', release: '5.1' },
  { type: 'cs50', name: 'COUNTER 5', release: '5' },
  { type: 'cs41', name: 'COUNTER-SUSHI 4.1', release: '4' },
];

export const RELEASES = ['5.1', '5', '4'];

/** Reports per release when the service's /impl answer is not available. */
const FALLBACK_REPORTS = /** @type {Record<string, string[]>} */ ({
  5.1: ['DR', 'IR', 'PR', 'TR'],
  5: ['DR', 'IR', 'PR', 'TR'],
  4: ['BR1', 'BR2', 'DB1', 'JR1', 'PR1'],
});

/** Reports ticked by default in a new provider. */
const DEFAULT_REPORTS = ['TR', 'JR1'];

/** The credentials a provider has, in form order; `secret` ones are never shown. */
const CREDENTIALS = [
  { key: 'customerId', id: 'udp-customer', label: 'Customer ID', secret: false },
  { key: 'requestorId', id: 'udp-requestor', label: 'Requestor ID', secret: true },
  { key: 'apiKey', id: 'udp-apikey', label: 'API key', secret: true },
  { key: 'platform', id: 'udp-platform', label: 'Platform', secret: false },
  { key: 'requestorName', id: 'udp-requestor-name', label: 'Requestor name', secret: false },
  { key: 'requestorMail', id: 'udp-requestor-mail', label: 'Requestor e-mail', secret: false },
];

/** The reports each release offers, from the service's implementations (read once). */
let reportsByRelease = /** @type {Promise<Record<string, string[]>> | undefined} */ (undefined);

function releaseReports() {
  reportsByRelease ??= api('GET', '/erm-usage-harvester/impl').then((res) => {
    /** @type {Record<string, string[]>} */
    const out = { ...FALLBACK_REPORTS };
    for (const impl of res.json?.implementations ?? []) {
      if (impl.isAggregator || !Array.isArray(impl.supportedReports) || !impl.supportedReports.length)
        continue;
      if (typeof impl.reportRelease === 'string') out[impl.reportRelease] = impl.supportedReports;
    }
    return out;
  });
  return reportsByRelease;
}

/**
 * The aggregator settings of the tenant, sorted by label.
 * @returns {Promise<any[]>}
 */
export async function loadAggregators() {
  const all = await apiAll('/aggregator-settings', 'aggregatorSettings', {
    query: '(cql.allRecords=1) sortby label',
  });
  return all.ok ? all.records : [];
}

/**
 * @param {{ record?: any, aggregators: any[], onSaved: (record: any) => Promise<void> | void, onCancel?: () => void }} opts
 * @returns {{ el: HTMLFormElement, focus(): void }}
 */
export function providerForm(opts) {
  const original = opts.record;
  const editing = original !== undefined;
  const prefix = editing ? 'edit-provider' : 'add-provider';
  const hc = original?.harvestingConfig ?? {};
  const creds = original?.sushiCredentials ?? {};

  const error = h('p', {
    class: 'form-error',
    role: 'alert',
    id: `${prefix}-error`,
    tabindex: '-1',
    hidden: true,
  });

  // General
  const label = input({ required: true, value: original?.label ?? '' });
  const description = input({ value: original?.description ?? '' });
  const statusOptions = [
    { value: 'active', text: 'active' },
    { value: 'inactive', text: 'inactive' },
  ];
  const status = select(statusOptions);
  status.value = original?.status === 'inactive' ? 'inactive' : 'active';
  const harvestingStatus = select(statusOptions);
  harvestingStatus.value = editing && hc.harvestingStatus !== 'active' ? 'inactive' : 'active';
  // An inactive provider cannot be harvested: switching it off switches harvesting off too.
  status.addEventListener('change', () => {
    if (status.value === 'inactive') harvestingStatus.value = 'inactive';
  });
  const notes = /** @type {HTMLTextAreaElement} */ (h('textarea', { rows: '2' }));
  notes.value = typeof original?.notes === 'string' ? original.notes : '';

  // Harvesting: directly from a SUSHI service, or through an aggregator.
  const viaAggregator = editing && hc.harvestVia === 'aggregator';
  const viaSushi = input({
    type: 'radio',
    name: 'harvestVia',
    value: 'sushi',
    id: 'udp-via-sushi',
    checked: !viaAggregator,
  });
  const viaAgg = input({
    type: 'radio',
    name: 'harvestVia',
    value: 'aggregator',
    id: 'udp-via-aggregator',
    checked: viaAggregator,
  });
  const typeSelect = select(SERVICE_TYPES.map((s) => ({ value: s.type, text: `${s.type} — ${s.name}` })));
  const knownType = SERVICE_TYPES.find((s) => s.type === hc.sushiConfig?.serviceType);
  if (knownType) typeSelect.value = knownType.type;
  else if (hc.sushiConfig?.serviceType) {
    // A type this form does not offer (stored by another client) stays selectable.
    typeSelect.prepend(h('option', { value: hc.sushiConfig.serviceType, text: hc.sushiConfig.serviceType }));
    typeSelect.value = hc.sushiConfig.serviceType;
  }
  const url = input({
    type: 'url',
    required: true,
    placeholder: 'https://sushi.example.org/counter',
    value: hc.sushiConfig?.serviceUrl ?? '',
  });
  const release = h('output', { id: 'udp-release', for: 'udp-type', class: 'mono' });
  const aggregatorSelect = select([
    { value: '', text: opts.aggregators.length ? 'Choose an aggregator' : 'No aggregator settings yet' },
    ...opts.aggregators.map((a) => ({ value: a.id, text: `${a.label} (${a.serviceType ?? '?'})` })),
  ]);
  if (hc.aggregator?.id) {
    if (!opts.aggregators.some((a) => a.id === hc.aggregator.id))
      aggregatorSelect.append(
        h('option', {
          value: hc.aggregator.id,
          text: `${hc.aggregator.name ?? hc.aggregator.id} (not found)`,
        }),
      );
    aggregatorSelect.value = hc.aggregator.id;
  }
  const vendorCode = input({ value: hc.aggregator?.vendorCode ?? '' });
  const aggRelease = select(RELEASES.map((r) => ({ value: r, text: r })));
  aggRelease.value = RELEASES.includes(hc.reportRelease) ? hc.reportRelease : '4';

  const sushiBox = h(
    'div',
    { class: 'grid' },
    field({
      id: 'udp-type',
      label: 'Service type',
      path: 'harvestingConfig.sushiConfig.serviceType',
      control: typeSelect,
    }),
    field({
      id: 'udp-url',
      label: 'Service URL',
      path: 'harvestingConfig.sushiConfig.serviceUrl',
      control: url,
      hint: 'The SUSHI base URL, without /reports',
    }),
    h(
      'div',
      { class: 'field' },
      h('span', { class: 'label', id: 'udp-release-label', text: 'Report release' }),
      h('div', { class: 'static', 'aria-labelledby': 'udp-release-label' }, release),
    ),
  );
  const aggregatorBox = h(
    'div',
    { class: 'grid' },
    field({
      id: 'udp-aggregator',
      label: 'Aggregator',
      path: 'harvestingConfig.aggregator.id',
      control: aggregatorSelect,
      extra: h(
        'small',
        { class: 'hint' },
        h('a', { href: '#/aggregators/new', text: 'Add aggregator settings' }),
      ),
    }),
    field({
      id: 'udp-vendor-code',
      label: 'Provider code at the aggregator',
      path: 'harvestingConfig.aggregator.vendorCode',
      control: vendorCode,
      hint: 'Sent to the aggregator as the platform',
    }),
    field({
      id: 'udp-agg-release',
      label: 'Report release (aggregator)',
      path: 'harvestingConfig.reportRelease',
      control: aggRelease,
    }),
  );

  const reportsBox = h('div', { class: 'checks', id: 'udp-reports' });
  /** @type {Record<string, string[]>} */
  let reportLists = { ...FALLBACK_REPORTS };
  /** The ticked reports; starts with the stored ones (offered even when the release does not list them). */
  const stored = editing ? (hc.requestedReports ?? []).map(String) : [];
  let ticked = new Set(editing ? stored : DEFAULT_REPORTS);

  function currentRelease() {
    if (viaAgg.checked) return aggRelease.value;
    return SERVICE_TYPES.find((s) => s.type === typeSelect.value)?.release ?? (hc.reportRelease || '5.1');
  }

  /** @type {string[]} */
  let shown = [];
  function renderReports() {
    // Ticks of reports the current release does not show (e.g. the default JR1 under 5.1) are kept.
    const checked = [...reportsBox.querySelectorAll('input:checked')].map(
      (i) => /** @type {HTMLInputElement} */ (i).value,
    );
    ticked = new Set([...[...ticked].filter((n) => !shown.includes(n)), ...checked]);
    const offered = reportLists[currentRelease()] ?? [];
    const names = [...offered, ...[...ticked].filter((n) => !offered.includes(n) && stored.includes(n))];
    shown = names;
    replace(
      reportsBox,
      names.map((name) =>
        h(
          'label',
          { class: 'check' },
          input({ type: 'checkbox', name: 'report', value: name, checked: ticked.has(name) }),
          name,
        ),
      ),
    );
  }

  function viaChanged() {
    sushiBox.hidden = viaAgg.checked;
    aggregatorBox.hidden = !viaAgg.checked;
    release.textContent = currentRelease();
    renderReports();
  }
  for (const el of [viaSushi, viaAgg, typeSelect, aggRelease]) el.addEventListener('change', viaChanged);
  viaChanged();
  void releaseReports().then((lists) => {
    reportLists = lists;
    renderReports();
  });

  const start = input({
    type: 'month',
    required: true,
    placeholder: 'yyyy-mm',
    value: toMonth(hc.harvestingStart) ?? '',
  });
  const end = input({ type: 'month', placeholder: 'yyyy-mm', value: toMonth(hc.harvestingEnd) ?? '' });

  const credentialFields = CREDENTIALS.map((c) => ({
    ...c,
    input: credentialField({
      id: c.id,
      label: c.label,
      path: `sushiCredentials.${c.key}`,
      original: creds[c.key],
      secret: c.secret,
    }),
  }));

  /** The COUNTER Registry link of a new provider started from the registry (docs/registry.md). */
  let registryLink = /** @type {any} */ (undefined);
  const registry =
    !editing &&
    registrySearch({
      onChoose(draft) {
        const dhc = draft.harvestingConfig ?? {};
        label.value = draft.label ?? label.value;
        description.value = draft.description ?? '';
        viaSushi.checked = true;
        viaAgg.checked = false;
        typeSelect.value = dhc.sushiConfig?.serviceType ?? typeSelect.value;
        url.value = dhc.sushiConfig?.serviceUrl ?? '';
        viaChanged();
        /** @type {string[]} */
        const wanted = dhc.requestedReports ?? [];
        for (const box of reportsBox.querySelectorAll('input'))
          /** @type {HTMLInputElement} */ (box).checked = wanted.includes(
            /** @type {HTMLInputElement} */ (box).value,
          );
        if (typeof draft.notes === 'string') notes.value = draft.notes;
        registryLink = dhc.registry;
      },
    });

  const submit = h('button', {
    type: 'submit',
    class: 'btn btn-primary',
    text: editing ? 'Save provider' : 'Create provider',
  });
  const formEl = /** @type {HTMLFormElement} */ (
    h(
      'form',
      {
        id: prefix,
        class: 'card form',
        novalidate: true,
        ...(editing ? { 'aria-label': 'Provider settings' } : { 'aria-labelledby': `${prefix}-title` }),
      },
      !editing && h('h2', { id: `${prefix}-title`, text: 'Add provider' }),
      registry && registry.el,
      h(
        'fieldset',
        { class: 'group' },
        h('legend', { text: 'General' }),
        h(
          'div',
          { class: 'grid' },
          field({ id: 'udp-label', label: 'Label', path: 'label', control: label }),
          field({ id: 'udp-description', label: 'Description', path: 'description', control: description }),
          field({ id: 'udp-status', label: 'Provider status', path: 'status', control: status }),
        ),
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', { text: 'Harvesting' }),
        h(
          'div',
          { class: 'grid' },
          field({
            id: 'udp-harvesting-status',
            label: 'Harvesting status',
            path: 'harvestingConfig.harvestingStatus',
            control: harvestingStatus,
            hint: 'Only active providers with active harvesting are harvested',
          }),
          h(
            'fieldset',
            { class: 'field radios', dataset: { path: 'harvestingConfig.harvestVia' } },
            h('legend', { text: 'Harvest via' }),
            h('label', { class: 'check' }, viaSushi, 'SUSHI service'),
            h('label', { class: 'check' }, viaAgg, 'Aggregator'),
            h('small', { id: 'udp-via-error', class: 'field-error', hidden: true }),
          ),
        ),
        sushiBox,
        aggregatorBox,
        h(
          'fieldset',
          { class: 'field', dataset: { path: 'harvestingConfig.requestedReports' } },
          h('legend', { text: 'Requested reports' }),
          reportsBox,
          h('small', { id: 'udp-reports-error', class: 'field-error', hidden: true }),
        ),
        h(
          'div',
          { class: 'grid' },
          field({
            id: 'udp-start',
            label: 'Harvesting start',
            path: 'harvestingConfig.harvestingStart',
            control: start,
            hint: 'yyyy-mm',
          }),
          field({
            id: 'udp-end',
            label: 'Harvesting end',
            path: 'harvestingConfig.harvestingEnd',
            control: end,
            hint: 'optional, yyyy-mm',
          }),
        ),
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', { text: 'SUSHI credentials' }),
        h(
          'div',
          { class: 'grid' },
          credentialFields.map((c) => c.input.el),
        ),
      ),
      field({ id: 'udp-notes', label: 'Notes', path: 'notes', control: notes }),
      error,
      h(
        'div',
        { class: 'form-actions' },
        submit,
        opts.onCancel &&
          h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: opts.onCancel }),
      ),
    )
  );

  /** Client-side checks, reported like the API's own (next to the fields). */
  function check() {
    /** @type {{ message: string, fields: string[] }[]} */
    const errors = [];
    if (!label.value.trim()) errors.push({ message: 'Enter a label.', fields: ['label'] });
    if (viaAgg.checked) {
      if (!aggregatorSelect.value)
        errors.push({ message: 'Choose the aggregator.', fields: ['harvestingConfig.aggregator.id'] });
    } else if (!url.value.trim()) {
      errors.push({ message: 'Enter the service URL.', fields: ['harvestingConfig.sushiConfig.serviceUrl'] });
    } else if (!/^https?:\/\/\S+$/i.test(url.value.trim())) {
      errors.push({
        message: 'The service URL must be an http or https address.',
        fields: ['harvestingConfig.sushiConfig.serviceUrl'],
      });
    }
    if (!reportsBox.querySelector('input:checked'))
      errors.push({ message: 'Tick at least one report.', fields: ['harvestingConfig.requestedReports'] });
    if (!toMonth(start.value))
      errors.push({
        message: 'Enter the first month to harvest (yyyy-mm).',
        fields: ['harvestingConfig.harvestingStart'],
      });
    if (end.value && !toMonth(end.value))
      errors.push({
        message: 'Enter the last month as yyyy-mm.',
        fields: ['harvestingConfig.harvestingEnd'],
      });
    else if (
      end.value &&
      toMonth(start.value) &&
      /** @type {string} */ (toMonth(end.value)) < /** @type {string} */ (toMonth(start.value))
    )
      errors.push({ message: 'The end is before the start.', fields: ['harvestingConfig.harvestingEnd'] });
    const mail = credentialFields.find((c) => c.key === 'requestorMail')?.input.value();
    if (
      mail &&
      !mail.includes('@') &&
      !credentialFields.find((c) => c.key === 'requestorMail')?.input.control.disabled
    )
      errors.push({ message: 'Enter an e-mail address.', fields: ['sushiCredentials.requestorMail'] });
    return errors;
  }

  /** The record to send: the stored one (when editing) with the form's values. */
  function record() {
    const out = structuredClone(original ?? {});
    /**
     * @param {Record<string, any>} target
     * @param {string} key
     * @param {string | undefined} value
     */
    const set = (target, key, value) => {
      if (value === undefined || value === '') delete target[key];
      else target[key] = value;
    };
    out.label = label.value.trim();
    set(out, 'description', description.value.trim());
    out.status = status.value;
    set(out, 'notes', notes.value.trim());
    const cfg = (out.harvestingConfig ??= {});
    cfg.harvestingStatus = harvestingStatus.value;
    if (viaAgg.checked) {
      cfg.harvestVia = 'aggregator';
      const previous = cfg.aggregator ?? {};
      const agg = { ...previous, id: aggregatorSelect.value };
      // The service fills in the aggregator's name; a stale one must not survive a change of aggregator.
      if (previous.id !== agg.id) delete agg.name;
      set(agg, 'vendorCode', vendorCode.value.trim());
      cfg.aggregator = agg;
    } else {
      cfg.harvestVia = 'sushi';
      delete cfg.aggregator;
      cfg.sushiConfig = { ...cfg.sushiConfig, serviceType: typeSelect.value, serviceUrl: url.value.trim() };
      if (registryLink) cfg.registry = registryLink;
    }
    cfg.reportRelease = currentRelease();
    cfg.requestedReports = [...reportsBox.querySelectorAll('input:checked')].map(
      (i) => /** @type {HTMLInputElement} */ (i).value,
    );
    set(cfg, 'harvestingStart', toMonth(start.value));
    set(cfg, 'harvestingEnd', toMonth(end.value));
    const credentials = { ...(out.sushiCredentials ?? {}) };
    for (const c of credentialFields) set(credentials, c.key, c.input.value());
    out.sushiCredentials = credentials;
    return out;
  }

  saveOnSubmit({
    form: formEl,
    error,
    submit,
    path: '/usage-data-providers',
    id: original?.id,
    check,
    record,
    onSaved: opts.onSaved,
  });

  return {
    el: formEl,
    focus() {
      label.focus();
    },
  };
}

/**
 * The page editing one provider: `#/providers/{id}/edit`.
 * @param {string} id
 * @returns {import('./app.js').Page}
 */
export function providerEditPage(id) {
  const status = notice();
  const holder = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const title = h('h1', { id: 'provider-edit-title', text: 'Edit provider' });
  const back = `#/providers/${encodeURIComponent(id)}`;

  async function load() {
    const [res, aggregators] = await Promise.all([
      api('GET', `/usage-data-providers/${encodeURIComponent(id)}`),
      loadAggregators(),
    ]);
    if (!res.ok) {
      replace(holder, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return;
    }
    const provider = res.json;
    title.textContent = `Edit “${provider.label ?? '(no label)'}”`;
    const form = providerForm({
      record: provider,
      aggregators,
      onSaved: (saved) => {
        setFlash('success', `Provider “${saved.label}” saved.`);
        window.location.hash = back;
      },
      onCancel: () => {
        window.location.hash = back;
      },
    });
    replace(holder, form.el);
    form.focus();
  }
  void load();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'provider-edit-title' },
    h(
      'div',
      { class: 'page-head' },
      h('div', {}, h('p', { class: 'crumbs' }, h('a', { href: back, text: '← Provider' })), title),
    ),
    status.el,
    holder,
  );
  return { el, title: 'Edit provider' };
}
