/**
 * The provider page's "Consortium members" card: the providers made for the members of this provider's
 * COUNTER members list, and "Sync members", which asks the list (`POST
 * /usage-data-providers/{id}/members/sync`, README "Consortia"): first what would change, then, confirmed,
 * does it. The outcome is shown in the page's notice.
 */
import { api, apiAll, cqlQuote, errorText } from './api.js';
import { confirmDialog, h, listen, replace } from './dom.js';

/**
 * What a sync did or would do, in one sentence.
 * @param {any} r the answer of the sync
 */
export function membersOutcome(r) {
  const n = (/** @type {unknown} */ list) => (Array.isArray(list) ? list.length : 0);
  const verb = r.applied ? '' : 'to be ';
  const parts = [
    n(r.created) && `${n(r.created)} ${verb}added`,
    n(r.updated) && `${n(r.updated)} ${verb}updated`,
    n(r.deactivated) && `${n(r.deactivated)} ${verb}deactivated (no longer listed)`,
    r.unchanged && `${r.unchanged} unchanged`,
  ].filter(Boolean);
  const listed = `${r.members} member${r.members === 1 ? '' : 's'} listed`;
  const warnings =
    Array.isArray(r.warnings) && r.warnings.length ? ` Warnings: ${r.warnings.join('; ')}` : '';
  return `${listed}: ${parts.join(', ') || 'nothing to change'}.${warnings}`;
}

/** @param {any} r */
const changes = (r) => r.created.length + r.updated.length + r.deactivated.length;

/**
 * @param {any} provider
 * @param {(message: string, kind: 'success' | 'error') => void} onDone
 */
export function membersCard(provider, onDone) {
  const hc = provider.harvestingConfig ?? {};
  const card = h('div', {});
  // A member's own page has no members list of its own.
  if (hc.consortium?.parentId) return card;
  const offersList =
    hc.harvestVia !== 'aggregator' && ['cs50', 'cs51'].includes(hc.sushiConfig?.serviceType ?? '');
  const list = h('div', { id: 'members-list' }, h('p', { class: 'muted', text: 'Loading…' }));
  const button = h('button', { type: 'button', class: 'btn', id: 'members-sync', text: 'Sync members' });
  const path = `/usage-data-providers/${encodeURIComponent(provider.id)}/members/sync`;

  const load = async () => {
    const all = await apiAll('/usage-data-providers', 'usageDataProviders', {
      query: `harvestingConfig.consortium.parentId==${cqlQuote(provider.id)} sortby label`,
    });
    if (!all.ok) {
      replace(list, h('p', { class: 'notice notice-error', text: errorText(all.res) }));
      return;
    }
    if (all.records.length === 0 && !offersList) {
      replace(card);
      return;
    }
    replace(card, section);
    replace(
      list,
      all.records.length === 0
        ? h('p', { class: 'muted', text: 'No member providers yet.' })
        : h(
            'ul',
            { class: 'members' },
            all.records.map((/** @type {any} */ m) =>
              h(
                'li',
                { dataset: { id: m.id } },
                h('a', { href: `#/providers/${encodeURIComponent(m.id)}`, text: m.label ?? m.id }),
                h('span', {
                  class: 'muted',
                  text: ` · customer ID ${m.sushiCredentials?.customerId ?? '—'}`,
                }),
                m.harvestingConfig?.consortium?.gone &&
                  h('span', { class: 'badge badge-bad', text: 'no longer listed' }),
              ),
            ),
          ),
    );
  };

  listen(button, 'click', async () => {
    button.setAttribute('disabled', '');
    try {
      const preview = await api('POST', path, { apply: false });
      if (!preview.ok) return onDone(`Members not synced: ${errorText(preview)}`, 'error');
      if (changes(preview.json) === 0)
        return onDone(`Members in step: ${membersOutcome(preview.json)}`, 'success');
      const ok = await confirmDialog({
        title: 'Sync consortium members?',
        message: membersOutcome(preview.json),
        confirmLabel: 'Sync members',
      });
      if (!ok) return;
      const res = await api('POST', path, { apply: true });
      if (!res.ok) return onDone(`Members not synced: ${errorText(res)}`, 'error');
      onDone(`Members synced: ${membersOutcome(res.json)}`, 'success');
      await load();
    } finally {
      button.removeAttribute('disabled');
    }
  });

  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'members-title', id: 'members' },
    h('h2', { id: 'members-title', text: 'Consortium members' }),
    h('p', {
      class: 'hint',
      text:
        "When this is a consortium's account, its COUNTER members list makes one provider per member, " +
        'kept in step: new members added, changed ones updated, members no longer listed deactivated ' +
        '(never deleted).',
    }),
    list,
    h('div', { class: 'form-actions' }, button),
  );
  if (offersList) replace(card, section);
  void load();
  return card;
}
