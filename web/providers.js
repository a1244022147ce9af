/**
 * Providers page: search and facets (one CQL query), the provider table, harvest buttons and the
 * "Add provider" form. Search and facets live in the location (`#/providers?q=…&code=3030`).
 */
import { api, countOf, cqlQuote, errorText, qs } from './api.js';
import { dataTable, h, hostOf, listen, notice, replace, replaceHash, showFlash, srOnly } from './dom.js';
import { loadAggregators, providerForm } from './provider-form.js';
import { EXCEPTION_NAMES } from './months.js';

const PAGE_SIZE = 50;
const PROVIDERS = '/usage-data-providers';

/** The inside of a quoted CQL term (backslash, quote, `*` and `?` escaped). */
const cqlInner = (/** @type {string} */ text) => cqlQuote(text).slice(1, -1);

/**
 * @typedef {{ value: string, label: string, title?: string }} FacetValue
 * @typedef {{
 *   key: string,
 *   label: string,
 *   clause: (value: string) => string,
 *   hideEmpty: boolean,
 * }} FacetGroup
 */

/** @type {FacetGroup[]} */
export const FACETS = [
  {
    key: 'harvesting',
    label: 'Harvesting status',
    clause: (v) => `harvestingConfig.harvestingStatus==${cqlQuote(v)}`,
    hideEmpty: false,
  },
  {
    key: 'code',
    label: 'Error code',
    clause: (v) => `reportErrorCodes=${cqlQuote(v)}`,
    hideEmpty: true,
  },
  {
    key: 'report',
    label: 'Report type',
    // requestedReports is a JSON array: match the quoted name inside its text, so TR does not match TR_J1.
    clause: (v) => `harvestingConfig.requestedReports=="*\\"${cqlInner(v)}\\"*"`,
    hideEmpty: true,
  },
  {
    key: 'aggregator',
    label: 'Aggregator',
    clause: (v) => `harvestingConfig.aggregator.id==${cqlQuote(v)}`,
    hideEmpty: false,
  },
];

/**
 * The CQL of the search box: every word must occur in label, description or aggregator name, as a prefix.
 * @param {string} text
 */
export function providerQuery(text) {
  return `${searchClause(text) ?? '(cql.allRecords=1)'} sortby label`;
}

/** @param {string} text */
function searchClause(text) {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  return `keywords all "${words.map((w) => cqlInner(w) + '*').join(' ')}"`;
}

/**
 * The query of search text and facet selections: OR within a facet, AND between facets and the search.
 * @param {string} search
 * @param {Map<string, Set<string>>} selected facet key → values
 * @param {string} [extra] one more clause (a facet value being counted)
 */
export function listQuery(search, selected, extra) {
  /** @type {string[]} */
  const parts = [];
  const words = searchClause(search);
  if (words) parts.push(words);
  for (const group of FACETS) {
    const values = [...(selected.get(group.key) ?? [])];
    if (values.length) parts.push(values.map((v) => group.clause(v)).join(' or '));
  }
  if (extra) parts.push(extra);
  if (parts.length === 0) return '(cql.allRecords=1) sortby label';
  return `${parts.map((p) => `(${p})`).join(' and ')} sortby label`;
}

/**
 * The values each facet offers.
 * @returns {Promise<Record<string, FacetValue[]>>}
 */
async function facetValues() {
  const [codes, types, impl, aggregators] = await Promise.all([
    api('GET', '/counter-reports/errors/codes'),
    api('GET', '/counter-reports/reports/types'),
    api('GET', '/erm-usage-harvester/impl'),
    loadAggregators(),
  ]);
  /** @type {Set<string>} */
  const reports = new Set(types.json?.reportTypes ?? []);
  for (const i of impl.json?.implementations ?? []) for (const r of i.supportedReports ?? []) reports.add(r);
  /** @type {string[]} */
  const codeList = codes.json?.errorCodes ?? [];
  return {
    harvesting: [
      { value: 'active', label: 'Active' },
      { value: 'inactive', label: 'Inactive' },
    ],
    code: codeList.map((c) => ({ value: c, label: c, title: EXCEPTION_NAMES[c] })),
    report: [...reports].sort().map((r) => ({ value: r, label: r })),
    aggregator: aggregators.map((a) => ({ value: a.id, label: a.label ?? a.id })),
  };
}

/**
 * Runs `tasks` with at most `n` at a time.
 * @template T
 * @param {(() => Promise<T>)[]} tasks
 * @param {number} n
 * @returns {Promise<T[]>}
 */
async function limited(tasks, n) {
  /** @type {T[]} */
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return out;
}

/**
 * @param {URLSearchParams} [params] `q` and the facet keys
 * @returns {import('./app.js').Page}
 */
export function providersPage(params = new URLSearchParams()) {
  const status = notice();
  showFlash(status);
  let offset = 0;
  let search = params.get('q') ?? '';
  /** @type {Map<string, Set<string>>} */
  const selected = new Map(FACETS.map((g) => [g.key, new Set(params.getAll(g.key))]));
  /** Counts are loaded for the newest selection only. */
  let generation = 0;
  let disposed = false;

  const searchInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'provider-search',
      type: 'search',
      name: 'q',
      placeholder: 'Label, description or aggregator',
      autocomplete: 'off',
      value: search,
    })
  );
  const searchForm = h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        search = searchInput.value;
        changed();
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
    'aria-controls': 'add-provider-holder',
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

  const formHolder = h('div', { id: 'add-provider-holder', hidden: true });
  /** @param {boolean} open */
  async function toggleForm(open) {
    formHolder.hidden = !open;
    addButton.setAttribute('aria-expanded', String(open));
    addButton.textContent = open ? 'Close form' : 'Add provider';
    if (!open) {
      replace(formHolder);
      return;
    }
    const form = providerForm({
      aggregators: await loadAggregators(),
      onSaved: async (record) => {
        status.show('success', `Provider “${record.label}” added.`);
        await toggleForm(false);
        await load();
        void loadFacets();
      },
    });
    replace(formHolder, form.el);
    form.focus();
  }
  addButton.addEventListener('click', () => void toggleForm(formHolder.hidden !== false));

  const tableHolder = h('div', { class: 'table-wrap' }, h('p', { class: 'muted', text: 'Loading…' }));
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });
  const facetsBody = h('div', { class: 'facet-groups' }, h('p', { class: 'muted', text: 'Loading…' }));
  const resetButton = h('button', {
    type: 'button',
    class: 'btn btn-small',
    text: 'Reset all',
    onclick: () => {
      for (const set of selected.values()) set.clear();
      searchInput.value = '';
      search = '';
      for (const box of facetsBody.querySelectorAll('input[type=checkbox]'))
        /** @type {HTMLInputElement} */ (box).checked = false;
      changed();
    },
  });
  const facets = /** @type {HTMLDetailsElement} */ (
    h(
      'details',
      { class: 'facets card', id: 'provider-facets' },
      h('summary', { text: 'Filters' }),
      h('div', { class: 'facets-head' }, h('h2', { text: 'Filters' }), resetButton),
      facetsBody,
    )
  );
  facets.open = window.matchMedia('(min-width: 721px)').matches;

  /** The location keeps the search and selections. */
  function saveState() {
    const p = new URLSearchParams();
    if (search.trim()) p.set('q', search.trim());
    for (const g of FACETS) for (const v of selected.get(g.key) ?? []) p.append(g.key, v);
    const q = p.toString();
    replaceHash(`#/providers${q ? `?${q}` : ''}`);
  }

  function changed() {
    offset = 0;
    saveState();
    void load();
    void loadCounts();
  }

  /** @type {Record<string, FacetValue[]>} */
  let values = {};

  async function loadFacets() {
    const offered = await facetValues();
    // Values no provider has at all are left out once, so that later counts skip them.
    for (const group of FACETS.filter((g) => g.hideEmpty)) {
      const chosen = selected.get(group.key) ?? new Set();
      const counts = await limited(
        offered[group.key].map(
          (v) => () => countOf(PROVIDERS, listQuery('', new Map(), group.clause(v.value))),
        ),
        4,
      );
      offered[group.key] = offered[group.key].filter((v, i) => counts[i] !== 0 || chosen.has(v.value));
    }
    values = offered;
    if (disposed) return;
    replace(
      facetsBody,
      FACETS.map((group) => {
        const chosen = selected.get(group.key) ?? new Set();
        // Selected values stay visible even when they no longer occur.
        const list = [...values[group.key]];
        for (const v of chosen) if (!list.some((x) => x.value === v)) list.push({ value: v, label: v });
        return h(
          'fieldset',
          { class: 'facet', dataset: { facet: group.key } },
          h('legend', { text: group.label }),
          list.length === 0
            ? h('p', { class: 'muted facet-none', text: 'none' })
            : list.map((v) => {
                const id = `facet-${group.key}-${v.value}`.replace(/[^\w-]/g, '_');
                const box = h('input', {
                  type: 'checkbox',
                  id,
                  value: v.value,
                  checked: chosen.has(v.value),
                  onchange: (/** @type {Event} */ e) => {
                    const on = /** @type {HTMLInputElement} */ (e.target).checked;
                    if (on) chosen.add(v.value);
                    else chosen.delete(v.value);
                    selected.set(group.key, chosen);
                    changed();
                  },
                });
                return h(
                  'div',
                  { class: 'facet-value', dataset: { value: v.value } },
                  box,
                  h(
                    'label',
                    { for: id, title: v.title ?? null },
                    h('span', { class: 'facet-label', text: v.label }),
                    v.title && h('span', { class: 'sr-only', text: ` ${v.title}` }),
                    h('span', { class: 'facet-count' }),
                  ),
                );
              }),
        );
      }),
    );
    await loadCounts();
  }

  /** Per facet value: how many providers the list would show with that value added (limit=0 queries). */
  async function loadCounts() {
    const mine = ++generation;
    /** @type {{ group: FacetGroup, value: string }[]} */
    const jobs = [];
    for (const group of FACETS) for (const v of values[group.key] ?? []) jobs.push({ group, value: v.value });
    const counts = await limited(
      jobs.map(({ group, value }) => () => {
        const others = new Map(selected);
        others.delete(group.key);
        return countOf(PROVIDERS, listQuery(search, others, group.clause(value)));
      }),
      4,
    );
    if (disposed || mine !== generation) return;
    jobs.forEach(({ group, value }, i) => {
      const row = facetsBody.querySelector(
        `[data-facet="${group.key}"] .facet-value[data-value="${CSS.escape(value)}"]`,
      );
      if (!row) return;
      const n = counts[i];
      const countEl = /** @type {HTMLElement} */ (row.querySelector('.facet-count'));
      replace(
        countEl,
        n === undefined ? '' : [srOnly(', '), String(n), srOnly(` provider${n === 1 ? '' : 's'}`)],
      );
      const box = /** @type {HTMLInputElement} */ (row.querySelector('input'));
      /** @type {HTMLElement} */ (row).hidden = group.hideEmpty && n === 0 && !box.checked;
    });
    for (const group of FACETS) {
      const fs = facetsBody.querySelector(`[data-facet="${group.key}"]`);
      if (!fs || !group.hideEmpty) continue;
      const visible = [...fs.querySelectorAll('.facet-value')].some(
        (r) => !(/** @type {HTMLElement} */ (r).hidden),
      );
      let none = fs.querySelector('.facet-none');
      if (!visible && !none) fs.append((none = h('p', { class: 'muted facet-none', text: 'none' })));
      if (visible && none) none.remove();
    }
  }

  async function load() {
    const filtered = search.trim() !== '' || [...selected.values()].some((s) => s.size > 0);
    const res = await api(
      'GET',
      `${PROVIDERS}?${qs({ limit: PAGE_SIZE, offset, query: listQuery(search, selected) })}`,
    );
    if (disposed) return;
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
    replace(tableHolder, providers.length ? providerTable(providers, status) : emptyState(search, filtered));
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
  void loadFacets();

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
    formHolder,
    h(
      'div',
      { class: 'with-facets' },
      facets,
      h('div', { class: 'results' }, h('div', { class: 'toolbar' }, searchForm, count), tableHolder, pager),
    ),
  );
  return {
    el,
    title: 'Providers',
    dispose() {
      disposed = true;
    },
  };
}

/**
 * @param {string} search
 * @param {boolean} filtered
 */
function emptyState(search, filtered) {
  let text = 'No providers yet. Add one with “Add provider”.';
  if (filtered)
    text = search.trim() ? `No provider matches “${search}”.` : 'No provider matches the filters.';
  return h('p', { class: 'empty' }, text);
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
    groupMembers(providers).map(({ p, parent, members }) => {
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
      const link = p.harvestingConfig?.consortium;
      return h(
        'tr',
        {
          dataset: { id: p.id, ...(link ? { parent: link.parentId } : {}) },
          class: parent ? 'member-row' : null,
        },
        h(
          'th',
          { scope: 'row' },
          h('a', { href: `#/providers/${encodeURIComponent(p.id)}`, text: p.label ?? '(no label)' }),
          p.description && h('div', { class: 'sub', text: p.description }),
          members > 0 &&
            h('div', {
              class: 'sub consortium',
              text: `Consortium: ${members} member${members === 1 ? '' : 's'}`,
            }),
          link &&
            h(
              'div',
              { class: 'sub' },
              parent ? `Member of ${parent.label ?? 'a consortium'}` : 'Consortium member',
              link.gone ? ' · no longer listed' : '',
            ),
        ),
        h('td', {}, statusBadge(p)),
        h('td', { title: sushi.serviceUrl ?? '', text: via }),
        h('td', { class: 'mono', text: p.latestReport ?? '—' }),
        h('td', { class: 'mono', text: p.earliestReport ?? '—' }),
        h('td', {}, h('span', { class: failed ? 'badge badge-bad' : 'badge', text: failed ? 'yes' : 'no' })),
        h(
          'td',
          { class: 'mono' },
          codes.length
            ? codes.flatMap((c, i) => [
                i > 0 && ', ',
                h('span', { title: EXCEPTION_NAMES[c] ?? null, text: c }),
              ])
            : '—',
        ),
        h('td', { class: 'actions-cell' }, harvestButton),
      );
    }),
  );
}

/**
 * The page's providers with each consortium's members right after it (members whose consortium is not
 * on the page stay where they are): `parent` for a member shown under its consortium, `members` the
 * number of members a consortium has on the page.
 * @param {any[]} providers
 * @returns {{ p: any, parent?: any, members: number }[]}
 */
export function groupMembers(providers) {
  const byId = new Map(providers.map((p) => [p.id, p]));
  /** @type {Map<string, any[]>} */
  const membersOf = new Map();
  for (const p of providers) {
    const parentId = p.harvestingConfig?.consortium?.parentId;
    if (typeof parentId === 'string' && byId.has(parentId) && parentId !== p.id)
      membersOf.set(parentId, [...(membersOf.get(parentId) ?? []), p]);
  }
  const grouped = new Set([...membersOf.values()].flat());
  /** @type {{ p: any, parent?: any, members: number }[]} */
  const out = [];
  for (const p of providers) {
    if (grouped.has(p)) continue;
    const members = membersOf.get(p.id) ?? [];
    out.push({ p, members: members.length });
    for (const m of members) out.push({ p: m, parent: p, members: 0 });
  }
  return out;
}

/** @param {any} p a provider */
export function statusBadge(p) {
  const active = p.status === 'active';
  const harvesting = p.harvestingConfig?.harvestingStatus === 'active';
  const text = active ? (harvesting ? 'active' : 'active, not harvested') : (p.status ?? 'unknown');
  return h('span', { class: active && harvesting ? 'badge badge-good' : 'badge', text });
}
