/**
 * The COUNTER Registry search of the add-provider form: find a platform by name or abbreviation and
 * start the provider from what the registry says (URL, release, reports, which credentials it needs).
 * The service asks the registry (GET /registry/platforms?q=, GET /registry/platforms/{id}).
 */
import { api, errorText } from './api.js';
import { h, replace } from './dom.js';
import { input } from './forms.js';

/** Credential names as the form labels them. */
const CREDENTIAL_LABELS = /** @type {Record<string, string>} */ ({
  customerId: 'Customer ID',
  requestorId: 'Requestor ID',
  apiKey: 'API key',
  platform: 'Platform',
});

/**
 * @param {{ onChoose: (draft: any, detail: any) => void }} opts `draft`: the provider the platform makes
 *   (no credentials), `detail`: the platform with its services
 * @returns {{ el: HTMLElement }}
 */
export function registrySearch(opts) {
  const query = input({
    id: 'udp-registry-q',
    type: 'search',
    placeholder: 'Platform name or abbreviation',
    autocomplete: 'off',
  });
  const button = h('button', { type: 'button', class: 'btn', text: 'Search registry' });
  const results = h('ul', { class: 'registry-results', id: 'udp-registry-results', 'aria-live': 'polite' });
  const message = h('p', { class: 'hint', id: 'udp-registry-message', role: 'status' });

  async function choose(/** @type {any} */ platform) {
    message.textContent = `Reading ${platform.name} from the COUNTER Registry…`;
    const res = await api('GET', `/registry/platforms/${encodeURIComponent(platform.id)}`);
    if (!res.ok) {
      message.textContent = errorText(res);
      return;
    }
    const draft = res.json?.draft;
    if (!draft) {
      message.textContent = `The COUNTER Registry lists no COUNTER 5 API service for ${platform.name}: add it by hand.`;
      return;
    }
    const requires = draft.harvestingConfig?.registry?.requires ?? {};
    const needed = Object.keys(CREDENTIAL_LABELS)
      .filter((k) => requires[k])
      .map((k) => CREDENTIAL_LABELS[k]);
    opts.onChoose(draft, res.json);
    replace(results);
    message.textContent =
      `Filled in from the COUNTER Registry: ${platform.name}. ` +
      (needed.length ? `Credentials it needs: ${needed.join(', ')}.` : 'It needs no credentials.');
  }

  async function search() {
    const q = query.value.trim();
    if (q === '') {
      message.textContent = 'Enter a platform name to search for.';
      return;
    }
    button.setAttribute('disabled', '');
    message.textContent = 'Searching…';
    const res = await api('GET', `/registry/platforms?q=${encodeURIComponent(q)}&limit=10`);
    button.removeAttribute('disabled');
    if (!res.ok) {
      replace(results);
      message.textContent = errorText(res);
      return;
    }
    /** @type {any[]} */
    const platforms = res.json?.platforms ?? [];
    message.textContent = platforms.length
      ? `${platforms.length} platform${platforms.length === 1 ? '' : 's'} found; choose one.`
      : `No platform of the COUNTER Registry matches “${q}”.`;
    replace(
      results,
      platforms.map((p) =>
        h(
          'li',
          {},
          h('button', {
            type: 'button',
            class: 'btn btn-small',
            text: `${p.name}${p.abbrev ? ` (${p.abbrev})` : ''} — COUNTER ${(p.releases ?? []).join(', ') || '?'}`,
            onclick: () => void choose(p),
          }),
        ),
      ),
    );
  }

  button.addEventListener('click', () => void search());
  // Enter searches instead of submitting the provider form.
  query.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void search();
    }
  });

  const el = h(
    'fieldset',
    { class: 'group', id: 'udp-registry' },
    h('legend', { text: 'Start from the COUNTER Registry (optional)' }),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'udp-registry-q', text: 'Search the COUNTER Registry' }),
      h('div', { class: 'inline' }, query, button),
      message,
      results,
    ),
  );
  return { el };
}
