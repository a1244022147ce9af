/**
 * DOM helpers: every element is built with createElement and every text goes through textContent, so
 * data from the API is never parsed as HTML.
 */

/**
 * Creates an element. `attrs` keys: `class`, `text`, `on<event>` (listener), `dataset` (object),
 * boolean attributes as true/false, everything else as an attribute (skipped when null/undefined/false).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | number | null | undefined | false | Array<Node | string | null | undefined | false>)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} parent
 * @param {any[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Replaces the children of `el`.
 * @param {Element} el
 * @param {...any} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A status line: `show(kind, text)` with kind 'info' | 'success' | 'error'; '' hides it. */
export function notice() {
  const el = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
  return {
    el,
    /**
     * @param {'info' | 'success' | 'error'} kind
     * @param {string} text
     */
    show(kind, text) {
      el.className = `notice notice-${kind}`;
      el.textContent = text;
      el.hidden = text === '';
    },
    clear() {
      el.hidden = true;
      el.textContent = '';
    },
  };
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/**
 * A `<time>` element showing a date-time in the browser's time zone, the exact value as its tooltip.
 * @param {string | undefined} value
 */
export function dateTime(value) {
  if (!value) return h('span', { class: 'muted', text: '—' });
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return h('span', { text: value });
  return h('time', { datetime: date.toISOString(), title: value, text: dateTimeFormat.format(date) });
}

/**
 * "1 min 5 s" between two date-times, or ''.
 * @param {string | undefined} from
 * @param {string | undefined} to
 */
export function duration(from, to) {
  if (!from || !to) return '';
  const ms = new Date(to).getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * The host of a URL, or the text itself when it is not a URL.
 * @param {string | undefined} url
 */
export function hostOf(url) {
  if (!url) return '';
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * A visually hidden text for screen readers.
 * @param {string} text
 */
export function srOnly(text) {
  return h('span', { class: 'sr-only', text });
}

/**
 * addEventListener for an async handler (its promise is deliberately not awaited).
 * @param {EventTarget} target
 * @param {string} type
 * @param {(event: Event) => Promise<void>} handler
 */
export function listen(target, type, handler) {
  target.addEventListener(type, (event) => void handler(event));
}

/**
 * A data table: accessible caption, one header row of column names, body rows.
 * @param {{ id: string, caption: string }} opts
 * @param {string[]} headers
 * @param {Node[]} rows
 */
export function dataTable(opts, headers, rows) {
  return h(
    'table',
    { class: 'data', id: opts.id },
    h('caption', { class: 'sr-only', text: opts.caption }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', { scope: 'col', text: t })),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/**
 * A modal `<dialog>`: focus moves into it (to the element with `autofocus`, else the first control), Escape
 * closes it, and on close it leaves the page and gives the focus back to where it was.
 * @param {{ title: string, id?: string, className?: string, body: Node | Node[], actions?: Node[] }} opts
 * @returns {{ el: HTMLDialogElement, body: HTMLElement, close: () => void, closed: Promise<void> }}
 */
export function openDialog(opts) {
  const previous = document.activeElement;
  const titleId = `${opts.id ?? 'dialog'}-title`;
  const body = h('div', { class: 'dialog-body' }, opts.body);
  const closeButton = h('button', {
    type: 'button',
    class: 'dialog-close',
    'aria-label': 'Close',
    text: '×',
  });
  const el = /** @type {HTMLDialogElement} */ (
    h(
      'dialog',
      { class: `dialog ${opts.className ?? ''}`.trim(), id: opts.id, 'aria-labelledby': titleId },
      h('div', { class: 'dialog-head' }, h('h2', { id: titleId, text: opts.title }), closeButton),
      body,
      opts.actions && h('div', { class: 'dialog-actions' }, opts.actions),
    )
  );
  /** @type {() => void} */
  let resolve = () => {};
  const closed = new Promise((r) => (resolve = /** @type {() => void} */ (r)));
  closeButton.addEventListener('click', () => el.close());
  el.addEventListener('close', () => {
    el.remove();
    // Back to where the focus was; if that element is gone (the dialog deleted what it showed), to the
    // page's main region.
    if (previous instanceof HTMLElement && previous.isConnected) previous.focus();
    else document.getElementById('main')?.focus();
    resolve();
  });
  document.body.appendChild(el);
  el.showModal();
  return { el, body, close: () => el.close(), closed };
}

/**
 * Asks before something that cannot be undone. Resolves true only for the confirm button; the focus
 * starts on Cancel.
 * @param {{ title: string, message: Node | string | (Node | string)[], confirmLabel: string, danger?: boolean }} opts
 * @returns {Promise<boolean>}
 */
export function confirmDialog(opts) {
  let confirmed = false;
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', autofocus: true });
  const confirm = h('button', {
    type: 'button',
    class: opts.danger ? 'btn btn-danger-solid' : 'btn btn-primary',
    text: opts.confirmLabel,
  });
  const dialog = openDialog({
    title: opts.title,
    id: 'confirm-dialog',
    className: 'dialog-confirm',
    body: h('p', {}, opts.message),
    actions: [cancel, confirm],
  });
  cancel.addEventListener('click', () => dialog.close());
  confirm.addEventListener('click', () => {
    confirmed = true;
    dialog.close();
  });
  return dialog.closed.then(() => confirmed);
}

/** A message for the next page (e.g. "Provider deleted." after leaving the deleted provider's page). */
let flashed = /** @type {{ kind: 'info' | 'success' | 'error', text: string } | undefined} */ (undefined);

/**
 * @param {'info' | 'success' | 'error'} kind
 * @param {string} text
 */
export function setFlash(kind, text) {
  flashed = { kind, text };
}

/**
 * Shows and forgets the flashed message, if any.
 * @param {ReturnType<typeof notice>} status
 */
export function showFlash(status) {
  if (flashed) status.show(flashed.kind, flashed.text);
  flashed = undefined;
}

/**
 * Sets the location's hash without a new history entry and without routing (pages keep their filters
 * in it, so that back/forward and reloads keep them).
 * @param {string} hash e.g. `#/jobs?result=failure`
 */
export function replaceHash(hash) {
  if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
}
