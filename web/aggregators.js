/**
 * Aggregator settings (e.g. the German National Statistics Server, NSS): list, add, edit, delete. The
 * aggregator's configuration is free key/value pairs; secret values are never shown (as provider
 * credentials: left empty, the stored value is sent back unchanged).
 */
import { api, apiAll, countOf, cqlQuote, errorText } from './api.js';
import { confirmDialog, dataTable, h, hostOf, listen, notice, replace, setFlash, showFlash } from './dom.js';
import { credentialField, field, input, isMasked, saveOnSubmit, select } from './forms.js';

const PATH = '/aggregator-settings';
const CONFIG_TYPES = ['Manual', 'Mail', 'API'];

/** Configuration keys whose values are secrets. */
const SECRET_KEY = /api.?key|secret|token|password|requestor.?id/i;

/** The providers harvested through an aggregator setting. */
const usersQuery = (/** @type {string} */ id) => `harvestingConfig.aggregator.id==${cqlQuote(id)}`;

/** @returns {import('./app.js').Page} */
export function aggregatorsPage() {
  const status = notice();
  showFlash(status);
  const holder = h('div', { class: 'table-wrap' }, h('p', { class: 'muted', text: 'Loading…' }));

  async function load() {
    const all = await apiAll(PATH, 'aggregatorSettings', { query: '(cql.allRecords=1) sortby label' });
    if (!all.ok) {
      replace(holder, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(all.res) }));
      return;
    }
    if (all.records.length === 0) {
      replace(
        holder,
        h('p', { class: 'empty', text: 'No aggregator settings yet. Add one with “Add aggregator”.' }),
      );
      return;
    }
    const counts = await Promise.all(
      all.records.map((a) => countOf('/usage-data-providers', usersQuery(a.id))),
    );
    replace(
      holder,
      dataTable(
        { id: 'aggregators-table', caption: 'Aggregator settings' },
        ['Label', 'Service type', 'Service', 'Account', 'Providers', 'Actions'],
        all.records.map((a, i) => {
          const del = h('button', {
            type: 'button',
            class: 'btn btn-small btn-danger',
            text: 'Delete',
            'aria-label': `Delete ${a.label}`,
          });
          listen(del, 'click', async () => {
            if (await removeAggregator(a, counts[i], status)) await load();
          });
          return h(
            'tr',
            { dataset: { id: a.id } },
            h(
              'th',
              { scope: 'row' },
              h('a', { href: `#/aggregators/${encodeURIComponent(a.id)}`, text: a.label ?? '(no label)' }),
            ),
            h('td', { class: 'mono', text: a.serviceType ?? '—' }),
            h('td', { title: a.serviceUrl ?? '', text: hostOf(a.serviceUrl) || '—' }),
            h('td', { text: a.accountConfig?.configType ?? '—' }),
            h(
              'td',
              {},
              counts[i] === undefined
                ? '—'
                : counts[i]
                  ? h('a', {
                      href: `#/providers?aggregator=${encodeURIComponent(a.id)}`,
                      text: String(counts[i]),
                    })
                  : '0',
            ),
            h(
              'td',
              { class: 'actions-cell' },
              h('a', {
                class: 'btn btn-small',
                href: `#/aggregators/${encodeURIComponent(a.id)}`,
                text: 'Edit',
                'aria-label': `Edit ${a.label}`,
              }),
              ' ',
              del,
            ),
          );
        }),
      ),
    );
  }
  void load();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'aggregators-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'aggregators-title', text: 'Aggregator settings' }),
      h(
        'div',
        { class: 'actions' },
        h('a', { class: 'btn btn-primary', href: '#/aggregators/new', text: 'Add aggregator' }),
      ),
    ),
    status.el,
    h(
      'p',
      { class: 'intro' },
      'Providers can be harvested through an aggregator instead of their own SUSHI service: choose it in the provider’s settings.',
    ),
    holder,
  );
  return { el, title: 'Aggregators' };
}

/**
 * Asks, then deletes an aggregator setting. True when deleted.
 * @param {any} a
 * @param {number | undefined} users providers harvested through it
 * @param {ReturnType<typeof notice>} status
 */
async function removeAggregator(a, users, status) {
  const warning = users
    ? ` ${users} provider${users === 1 ? ' is' : 's are'} harvested through it and cannot be harvested until another aggregator is chosen.`
    : '';
  const ok = await confirmDialog({
    title: 'Delete aggregator settings?',
    message: ['Delete ', h('strong', { text: `“${a.label}”` }), `?${warning}`],
    confirmLabel: 'Delete aggregator',
    danger: true,
  });
  if (!ok) return false;
  const res = await api('DELETE', `${PATH}/${encodeURIComponent(a.id)}`);
  if (res.ok) status.show('success', `Aggregator “${a.label}” deleted.`);
  else status.show('error', errorText(res));
  return res.ok;
}

/**
 * Add (`#/aggregators/new`) or edit (`#/aggregators/{id}`) one aggregator setting.
 * @param {string | undefined} id
 * @returns {import('./app.js').Page}
 */
export function aggregatorEditPage(id) {
  const status = notice();
  const holder = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const title = h('h1', { id: 'aggregator-title', text: id ? 'Edit aggregator' : 'Add aggregator' });

  async function load() {
    const [res, impl] = await Promise.all([
      id ? api('GET', `${PATH}/${encodeURIComponent(id)}`) : Promise.resolve(undefined),
      api('GET', '/erm-usage-harvester/impl?aggregator=true'),
    ]);
    if (res && !res.ok) {
      replace(holder, h('p', { class: 'notice notice-error', role: 'alert', text: errorText(res) }));
      return;
    }
    const record = res?.json;
    if (record) title.textContent = `Edit “${record.label ?? '(no label)'}”`;
    /** @type {any[]} */
    const implementations = (impl.json?.implementations ?? []).filter(
      (/** @type {any} */ i) => i.isAggregator,
    );
    const form = aggregatorForm(record, implementations);
    replace(holder, form.el);
    form.focus();
  }
  void load();

  const el = h(
    'section',
    { class: 'page', 'aria-labelledby': 'aggregator-title' },
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('p', { class: 'crumbs' }, h('a', { href: '#/aggregators', text: '← Aggregators' })),
        title,
      ),
    ),
    status.el,
    holder,
  );
  return { el, title: id ? 'Edit aggregator' : 'Add aggregator' };
}

/**
 * @param {any} original the stored setting, undefined for a new one
 * @param {any[]} implementations the aggregator implementations of the service (/impl)
 */
function aggregatorForm(original, implementations) {
  const editing = original !== undefined;
  const error = h('p', {
    class: 'form-error',
    role: 'alert',
    id: 'aggregator-error',
    tabindex: '-1',
    hidden: true,
  });
  const label = input({ required: true, value: original?.label ?? '' });
  const types = implementations.map((i) => ({ value: String(i.type), text: `${i.type} — ${i.name}` }));
  if (original?.serviceType && !types.some((t) => t.value === original.serviceType))
    types.unshift({ value: original.serviceType, text: original.serviceType });
  if (types.length === 0) types.push({ value: 'NSS', text: 'NSS' });
  const serviceType = select(types);
  if (original?.serviceType) serviceType.value = original.serviceType;
  const serviceUrl = input({
    type: 'url',
    required: true,
    value: original?.serviceUrl ?? '',
    placeholder: 'https://sushi.example.org/…',
  });
  const account = original?.accountConfig ?? {};
  const configType = select(CONFIG_TYPES.map((t) => ({ value: t, text: t })));
  configType.value = CONFIG_TYPES.includes(account.configType) ? account.configType : 'Manual';
  const configMail = input({ type: 'email', value: account.configMail ?? '' });
  const contact = /** @type {HTMLTextAreaElement} */ (h('textarea', { rows: '2' }));
  contact.value = Array.isArray(account.displayContact) ? account.displayContact.join('\n') : '';

  // Configuration rows: the stored keys, then the keys the implementation expects, then reportRelease.
  const rowsBox = h('div', { class: 'kv-rows', id: 'aggregator-config' });
  /** @type {{ el: HTMLElement, key: () => string, value: () => unknown }[]} */
  const rows = [];
  let rowSeq = 0;
  /**
   * @param {string} key
   * @param {unknown} stored
   */
  function addRow(key, stored) {
    const n = rowSeq++;
    const keyInput = input({ value: key, 'aria-label': `Key ${n + 1}`, spellcheck: 'false', class: 'mono' });
    const secret = SECRET_KEY.test(key) || isMasked(stored);
    // A value that is not a string (a number, an object) is shown as JSON and kept as it is unless edited.
    const shown = typeof stored === 'string' || stored === undefined ? stored : JSON.stringify(stored);
    const valueField = credentialField({
      id: `agg-value-${n}`,
      label: key ? `${key} value` : `Value ${n + 1}`,
      path: `aggregatorConfig.${key}`,
      original: shown,
      secret,
    });
    const removeButton = h('button', {
      type: 'button',
      class: 'btn btn-small',
      text: 'Remove',
      'aria-label': `Remove ${key || `row ${n + 1}`}`,
    });
    const row = {
      el: h(
        'div',
        { class: 'kv-row' },
        h(
          'div',
          { class: 'field' },
          h('span', { class: 'label', 'aria-hidden': 'true', text: 'Key' }),
          keyInput,
        ),
        valueField.el,
        removeButton,
      ),
      key: () => keyInput.value.trim(),
      value: () => {
        const v = valueField.value();
        return v !== undefined && v === shown ? stored : v;
      },
    };
    keyInput.addEventListener('input', () => {
      const k = keyInput.value.trim();
      /** @type {HTMLElement} */ (valueField.el).dataset.path = `aggregatorConfig.${k}`;
      const lbl = valueField.el.querySelector('label');
      if (lbl) lbl.textContent = k ? `${k} value` : `Value ${n + 1}`;
    });
    removeButton.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      addKeyButton.focus();
    });
    rows.push(row);
    rowsBox.append(row.el);
    return keyInput;
  }
  const stored = original?.aggregatorConfig ?? {};
  for (const [k, v] of Object.entries(stored)) addRow(k, v);
  if (!editing) {
    const impl = implementations.find((i) => i.type === serviceType.value);
    for (const k of [
      ...(impl?.configurationParameters ?? ['apiKey', 'requestorId', 'customerId']),
      'reportRelease',
    ])
      if (!(k in stored)) addRow(k, undefined);
  }
  const addKeyButton = h('button', { type: 'button', class: 'btn btn-small', text: 'Add key' });
  addKeyButton.addEventListener('click', () => addRow('', undefined).focus());

  const submit = h('button', {
    type: 'submit',
    class: 'btn btn-primary',
    text: editing ? 'Save aggregator' : 'Create aggregator',
  });
  const formEl = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id: 'aggregator-form', class: 'card form', novalidate: true, 'aria-label': 'Aggregator settings' },
      h(
        'div',
        { class: 'grid' },
        field({ id: 'agg-label', label: 'Label', path: 'label', control: label }),
        field({ id: 'agg-type', label: 'Service type', path: 'serviceType', control: serviceType }),
        field({ id: 'agg-url', label: 'Service URL', path: 'serviceUrl', control: serviceUrl }),
      ),
      h(
        'fieldset',
        { class: 'group', dataset: { path: 'aggregatorConfig' } },
        h('legend', { text: 'Aggregator configuration' }),
        h('p', {
          class: 'hint',
          text: 'Keys and values the aggregator needs, e.g. apiKey, requestorId, customerId, reportRelease.',
        }),
        rowsBox,
        h('small', { id: 'aggregator-config-error', class: 'field-error', hidden: true }),
        h('div', {}, addKeyButton),
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', { text: 'Account' }),
        h(
          'div',
          { class: 'grid' },
          field({
            id: 'agg-config-type',
            label: 'Account configuration',
            path: 'accountConfig.configType',
            control: configType,
          }),
          field({
            id: 'agg-config-mail',
            label: 'Account e-mail',
            path: 'accountConfig.configMail',
            control: configMail,
          }),
          field({
            id: 'agg-contact',
            label: 'Contact',
            path: 'accountConfig.displayContact',
            control: contact,
            hint: 'One line per entry',
          }),
        ),
      ),
      error,
      h(
        'div',
        { class: 'form-actions' },
        submit,
        h('a', { class: 'btn', href: '#/aggregators', text: 'Cancel' }),
      ),
    )
  );

  function check() {
    /** @type {{ message: string, fields: string[] }[]} */
    const errors = [];
    if (!label.value.trim()) errors.push({ message: 'Enter a label.', fields: ['label'] });
    if (!serviceUrl.value.trim()) errors.push({ message: 'Enter the service URL.', fields: ['serviceUrl'] });
    else if (!/^https?:\/\/\S+$/i.test(serviceUrl.value.trim()))
      errors.push({
        message: 'The service URL must be an http or https address.',
        fields: ['serviceUrl'],
      });
    const keys = rows.map((r) => r.key()).filter(Boolean);
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup) errors.push({ message: `The key “${dup}” occurs twice.`, fields: ['aggregatorConfig'] });
    if (rows.some((r) => !r.key() && r.value()))
      errors.push({ message: 'A value has no key.', fields: ['aggregatorConfig'] });
    return errors;
  }

  function record() {
    const out = structuredClone(original ?? {});
    out.label = label.value.trim();
    out.serviceType = serviceType.value;
    out.serviceUrl = serviceUrl.value.trim();
    /** @type {Record<string, unknown>} */
    const config = {};
    for (const r of rows) {
      const k = r.key();
      const v = r.value();
      if (k && v !== undefined) config[k] = v;
    }
    out.aggregatorConfig = config;
    const acc = { ...(out.accountConfig ?? {}), configType: configType.value };
    if (configMail.value.trim()) acc.configMail = configMail.value.trim();
    else delete acc.configMail;
    const lines = contact.value
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length) acc.displayContact = lines;
    else delete acc.displayContact;
    out.accountConfig = acc;
    return out;
  }

  saveOnSubmit({
    form: formEl,
    error,
    submit,
    path: PATH,
    id: original?.id,
    check,
    record,
    onSaved: (saved) => {
      setFlash('success', `Aggregator “${saved.label}” ${editing ? 'saved' : 'added'}.`);
      window.location.hash = '#/aggregators';
    },
  });

  return {
    el: formEl,
    focus() {
      label.focus();
    },
  };
}
