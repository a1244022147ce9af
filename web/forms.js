/**
 * Form building blocks: labelled fields with a hint and an error slot, the API's 422 field errors shown
 * next to their fields, and credential inputs that never show a stored secret.
 */
import { api, apiErrors, errorText } from './api.js';
import { h, listen } from './dom.js';

/**
 * A labelled control. `path` is the record field it edits (dotted, as the API names it in 422 errors).
 * @param {{ id: string, label: string, control: HTMLElement, path?: string, hint?: string, extra?: Node }} opts
 */
export function field(opts) {
  const { id, control } = opts;
  control.id = id;
  if (!control.getAttribute('name')) control.setAttribute('name', id);
  const describedBy = opts.hint ? `${id}-hint` : '';
  if (describedBy) control.setAttribute('aria-describedby', describedBy);
  return h(
    'div',
    { class: 'field', dataset: opts.path ? { path: opts.path } : {} },
    h('label', { for: id, text: opts.label }),
    control,
    opts.hint && h('small', { id: `${id}-hint`, class: 'hint', text: opts.hint }),
    opts.extra,
    h('small', { id: `${id}-error`, class: 'field-error', hidden: true }),
  );
}

/**
 * A text-like input.
 * @param {Record<string, any>} [attrs]
 * @returns {HTMLInputElement}
 */
export function input(attrs = {}) {
  return /** @type {HTMLInputElement} */ (h('input', { type: 'text', autocomplete: 'off', ...attrs }));
}

/**
 * @param {{ value: string, text: string }[]} options
 * @param {Record<string, any>} [attrs]
 * @returns {HTMLSelectElement}
 */
export function select(options, attrs = {}) {
  return /** @type {HTMLSelectElement} */ (
    h(
      'select',
      attrs,
      options.map((o) => h('option', { value: o.value, text: o.text })),
    )
  );
}

/** The control inside a field wrapper (the first input, select or textarea). */
function controlOf(/** @type {Element} */ wrapper) {
  return /** @type {HTMLElement | null} */ (wrapper.querySelector('input, select, textarea'));
}

/**
 * Removes every field error and hides the general error box.
 * @param {HTMLElement} form
 * @param {HTMLElement} general
 */
export function clearErrors(form, general) {
  for (const slot of form.querySelectorAll('.field-error')) {
    const el = /** @type {HTMLElement} */ (slot);
    el.hidden = true;
    el.textContent = '';
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    const ids = (control.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((i) => !i.endsWith('-error'));
    if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
    else control.removeAttribute('aria-describedby');
  }
  general.hidden = true;
  general.textContent = '';
}

/**
 * The field wrapper of a record path: the exact one, else the nearest parent path that has a field
 * (`harvestingConfig.sushiConfig.serviceUrl` → the Service URL field).
 * @param {HTMLElement} form
 * @param {string} path
 */
function wrapperOf(form, path) {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const found = form.querySelector(`[data-path="${CSS.escape(parts.slice(0, n).join('.'))}"]`);
    if (found) return found;
  }
  return null;
}

/**
 * Shows errors next to their fields (`fields` are record paths); errors without a field go to `general`.
 * The first field with an error gets the focus (its message is read with it).
 * @param {HTMLElement} form
 * @param {HTMLElement} general
 * @param {{ message: string, fields: string[] }[]} errors
 */
export function showErrors(form, general, errors) {
  clearErrors(form, general);
  /** @type {string[]} */
  const unplaced = [];
  /** @type {HTMLElement | undefined} */
  let first;
  let marked = 0;
  for (const error of errors) {
    const wrappers = [...new Set(error.fields.map((f) => wrapperOf(form, f)))];
    const slots = wrappers
      .map((w) => /** @type {HTMLElement | null} */ (w?.querySelector(':scope > .field-error') ?? null))
      .filter((slot) => slot !== null);
    if (slots.length === 0) {
      unplaced.push(error.message);
      continue;
    }
    for (const slot of slots) {
      if (slot.hidden) marked++;
      slot.textContent = slot.textContent ? `${slot.textContent} ${error.message}` : error.message;
      slot.hidden = false;
      const control = controlOf(/** @type {Element} */ (slot.parentElement));
      if (!control) continue;
      control.setAttribute('aria-invalid', 'true');
      const ids = new Set((control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
      ids.add(slot.id);
      control.setAttribute('aria-describedby', [...ids].join(' '));
      first ??= control;
    }
  }
  const summary = marked ? [`Please check the marked field${marked === 1 ? '' : 's'}.`] : [];
  general.textContent = [...unplaced, ...summary].join(' ');
  general.hidden = general.textContent === '';
  if (first) first.focus();
  else if (!general.hidden) general.focus();
}

/**
 * Whether an API value is a mask standing for a stored secret (e.g. `***` or `••••1234`).
 * @param {unknown} value
 */
export function isMasked(value) {
  return typeof value === 'string' && /^\s*[*•●]{3,}/.test(value);
}

/**
 * An input for a credential. The stored value is never put into the page: the input starts empty and,
 * left empty, the form sends back exactly what the API gave (a mask, or today the value itself), so the
 * service keeps the stored secret. Typing sends the new value; "Remove" sends none.
 * @param {{ id: string, label: string, path: string, original: unknown, secret?: boolean }} opts
 * @returns {{ el: HTMLElement, value(): string | undefined, control: HTMLInputElement }}
 */
export function credentialField(opts) {
  const original = typeof opts.original === 'string' && opts.original !== '' ? opts.original : undefined;
  const hidden = opts.secret || isMasked(original);
  if (!hidden) {
    const control = input({ value: original ?? '', spellcheck: 'false' });
    return {
      el: field({ id: opts.id, label: opts.label, path: opts.path, control }),
      control,
      value: () => control.value.trim() || undefined,
    };
  }
  const control = input({
    type: 'password',
    autocomplete: 'new-password',
    spellcheck: 'false',
    placeholder: original ? '•••••••• (stored)' : '',
  });
  /** @type {HTMLInputElement | undefined} */
  let remove;
  if (original) {
    remove = input({ type: 'checkbox', id: `${opts.id}-remove`, name: `${opts.id}-remove` });
    remove.addEventListener('change', () => {
      control.disabled = remove?.checked ?? false;
      if (remove?.checked) control.value = '';
    });
  }
  const el = field({
    id: opts.id,
    label: opts.label,
    path: opts.path,
    control,
    hint: original ? 'A value is stored (hidden). Leave empty to keep it.' : undefined,
    extra: remove && h('label', { class: 'check check-small' }, remove, 'Remove the stored value'),
  });
  return {
    el,
    control,
    value() {
      if (remove?.checked) return undefined;
      return control.value.trim() || original;
    },
  };
}

/**
 * Saves a record form on submit: the client-side `check` first (its errors at the fields), then a POST
 * to `path` (new record) or a PUT to `path/id`, the API's 422 errors at the fields. `onSaved` gets the
 * stored record (POST's answer, or what was PUT).
 * @param {{
 *   form: HTMLFormElement,
 *   error: HTMLElement,
 *   submit: HTMLElement,
 *   path: string,
 *   id?: string,
 *   check: () => { message: string, fields: string[] }[],
 *   record: () => any,
 *   onSaved: (record: any) => Promise<void> | void,
 * }} opts
 */
export function saveOnSubmit(opts) {
  const { form, error, submit } = opts;
  listen(form, 'submit', async (event) => {
    event.preventDefault();
    clearErrors(form, error);
    const problems = opts.check();
    if (problems.length) {
      showErrors(form, error, problems);
      return;
    }
    const body = opts.record();
    submit.setAttribute('disabled', '');
    const res = opts.id
      ? await api('PUT', `${opts.path}/${encodeURIComponent(opts.id)}`, body)
      : await api('POST', opts.path, body);
    submit.removeAttribute('disabled');
    if (res.ok) await opts.onSaved(opts.id ? body : (res.json ?? body));
    else
      showErrors(
        form,
        error,
        res.status === 422 ? apiErrors(res) : [{ message: errorText(res), fields: [] }],
      );
  });
}
