/**
 * The range merge without a table (docs/counter-tabular.md, section 6): stored months keep the
 * provider's item order, and a provider that lists the same items in every month lists them in the
 * same order. Such months are read side by side, element i of every month together, and each item is
 * written as soon as its counts of all months are added up. Memory is one element per month.
 *
 * That gives the merge's order (first appearance) only when every step shows the same identities in
 * all months, no identity shows twice, and the items of one parent (or of none) come together. A
 * first pass checks exactly that, keeping 8 bytes per item (a 64-bit digest of its identity, to find
 * repeats); when any of it fails, the merge with a table (`SpillingGroupBy`) is used instead. The
 * first pass parses only the first month: the other months' item texts are compared with it as
 * written, without their usage (`rawIdentity`), and parsed only where those differ. The second pass
 * compares the identities again and stops with an error if a month changed in between.
 */
import { canonicalCopy, canonicalJson, sameCanonical } from './canonical.ts';
import { ExportError } from './errors.ts';
import type { ComponentUsage, Counts, ItemEntry, UsageLeaf } from './items.ts';
import { normaliseKey as normalise, type JsonObject } from '../json.ts';
import type { StoredMonth } from './merge.ts';

/**
 * Ranges of more months are merged with the table: each month read side by side holds the piece it is
 * read from (a store chunk is 4 MiB), so more months would hold more than the table's budget.
 */
export const MAX_LOCKSTEP_MONTHS = 12;

/** The entries of one stored element as the merge reads them (projected; undefined ones dropped). */
export type ElementReader = (raw: JsonObject | string, month: StoredMonth, monthIndex: number) => ItemEntry[];

/**
 * A set of 64-bit digests (two 32-bit string hashes) in open addressing. A repeat it reports may be
 * a collision; the caller then takes the exact way, so a collision costs time, never correctness.
 */
export class DigestSet {
  private slots = new Uint32Array(2 * 1024);
  private count = 0;

  /** Adds the text's digest; false when it was there already. */
  add(text: string): boolean {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    h1 ^= h1 >>> 16;
    h1 = Math.imul(h1, 0x85ebca6b);
    h1 ^= h1 >>> 13;
    h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35);
    h2 ^= h2 >>> 16;
    // (0, 0) marks an empty slot.
    if (h1 === 0 && h2 === 0) h2 = 1;
    if (!this.insert(h1 >>> 0, h2 >>> 0)) return false;
    this.count += 1;
    if (this.count * 2 > this.slots.length / 2) this.grow();
    return true;
  }

  private insert(h1: number, h2: number): boolean {
    const mask = this.slots.length / 2 - 1;
    for (let i = h1 & mask; ; i = (i + 1) & mask) {
      const a = this.slots[2 * i];
      const b = this.slots[2 * i + 1];
      if (a === 0 && b === 0) {
        this.slots[2 * i] = h1;
        this.slots[2 * i + 1] = h2;
        return true;
      }
      if (a === h1 && b === h2) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2)
      if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i], old[i + 1]);
  }
}

const USAGE_KEYS = new Set(['attributeperformance', 'performance', 'components', 'itemcomponent']);

const USAGE_SPELLINGS = new Set(['Attribute_Performance', 'Performance', 'Components', 'Item_Component']);
const MAYBE_USAGE = /erformance|omponent|tems/i;

/** A member name as written: usage, a parent's `Items`, or another member. */
function keyKind(key: string): 'usage' | 'items' | 'other' {
  if (USAGE_SPELLINGS.has(key)) return 'usage';
  if (key === 'Items') return 'items';
  if (!MAYBE_USAGE.test(key)) return 'other';
  const compact = normalise(key);
  return compact === 'items' ? 'items' : USAGE_KEYS.has(compact) ? 'usage' : 'other';
}

/** The index after the JSON string that starts at `start` (a quote), or -1. */
function endOfString(text: string, start: number): number {
  for (let i = text.indexOf('"', start + 1); i >= 0; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    for (let j = i - 1; text.charCodeAt(j) === 92; j--) backslashes += 1;
    if (backslashes % 2 === 0) return i + 1;
  }
  return -1;
}

/** The index after the JSON value that starts at `start` (no leading white space), or -1. */
function endOfValue(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === 34) return endOfString(text, start);
  if (first !== 123 && first !== 91) {
    let i = start;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 44 || c === 125 || c === 93 || c === 32 || c === 10 || c === 13 || c === 9) break;
    }
    return i > start ? i : -1;
  }
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = endOfString(text, i) - 1;
      if (i < 0) return -1;
    } else if (c === 123 || c === 91) depth += 1;
    else if (c === 125 || c === 93) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function skipSpace(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
  }
  return i;
}

/**
 * The members of an item's JSON text other than its usage, as written (`"key":value` pieces), or
 * undefined when the text is not one plain item (a parent group with `Items`, or not an object).
 * Two items with the same text here have the same identity; the converse need not hold (then the
 * items are parsed and compared).
 */
export function rawIdentity(text: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 123) return undefined;
  let out = '';
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 125) return out;
  for (;;) {
    if (text.charCodeAt(i) !== 34) return undefined;
    const keyEnd = endOfString(text, i);
    if (keyEnd < 0) return undefined;
    const colon = skipSpace(text, keyEnd);
    if (text.charCodeAt(colon) !== 58) return undefined;
    const valueStart = skipSpace(text, colon + 1);
    const valueEnd = endOfValue(text, valueStart);
    if (valueEnd < 0) return undefined;
    const kind = keyKind(text.slice(i + 1, keyEnd - 1));
    if (kind === 'items') return undefined;
    if (kind === 'other') out += `${text.slice(i, valueEnd)},`;
    i = skipSpace(text, valueEnd);
    const c = text.charCodeAt(i);
    if (c === 125) return out;
    if (c !== 44) return undefined;
    i = skipSpace(text, i + 1);
  }
}

/** Separates the parent's and the item's JSON in an identity (neither contains a raw U+0001). */
const SEPARATOR = '\u0001';

function sameIdentities(a: readonly ItemEntry[], b: readonly ItemEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const pa = a[i].parent;
    const pb = b[i].parent;
    if ((pa === undefined) !== (pb === undefined)) return false;
    if (pa !== undefined && !sameCanonical(pa, pb)) return false;
    if (!sameCanonical(a[i].item, b[i].item)) return false;
  }
  return true;
}

type Step = { done: true } | { done: false; elements: Array<JsonObject | string> };

/** Reads the months side by side: element i of every month per step. */
class SideBySide {
  private readonly iterators: Array<AsyncIterator<JsonObject | string>>;
  constructor(months: readonly StoredMonth[]) {
    this.iterators = months.map((m) => m.items()[Symbol.asyncIterator]());
  }

  /** The next step; undefined when the months have different lengths. */
  async next(): Promise<Step | undefined> {
    const results = await Promise.all(this.iterators.map((it) => it.next()));
    let ended = 0;
    for (const r of results) if (r.done === true) ended += 1;
    if (ended === results.length) return { done: true };
    if (ended > 0) return undefined;
    return { done: false, elements: results.map((r) => r.value as JsonObject | string) };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.iterators.map(async (it) => {
        await it.return?.(undefined);
      }),
    );
  }
}

export interface LockstepCheck {
  aligned: boolean;
  /** Whether any entry was read (the merge's `hasUsage`); meaningful when aligned. */
  anyEntry: boolean;
}

/**
 * First pass: whether the months can be merged side by side (see the top of this file). Stops at the
 * first step that shows they cannot.
 */
export async function checkLockstep(
  months: readonly StoredMonth[],
  read: ElementReader,
  /** Whether every item gives one entry, as read (no projection): then texts can be compared as written. */
  compareTexts: boolean,
): Promise<LockstepCheck> {
  const notAligned: LockstepCheck = { aligned: false, anyEntry: false };
  const identities = new DigestSet();
  const parents = new DigestSet();
  let currentParent: string | undefined;
  let anyEntry = false;
  const steps = new SideBySide(months);
  try {
    for (;;) {
      const step = await steps.next();
      if (!step) return notAligned;
      if (step.done) return { aligned: true, anyEntry };
      const elements = step.elements;
      const first = read(elements[0], months[0], 0);
      const firstText =
        compareTexts && typeof elements[0] === 'string' ? rawIdentity(elements[0]) : undefined;
      for (let m = 1; m < months.length; m++) {
        const element = elements[m];
        if (firstText !== undefined && typeof element === 'string' && rawIdentity(element) === firstText)
          continue;
        if (!sameIdentities(first, read(element, months[m], m))) return notAligned;
      }
      for (const entry of first) {
        anyEntry = true;
        const parentJson = entry.parent ? canonicalJson(entry.parent) : '';
        if (parentJson !== currentParent) {
          if (!parents.add(parentJson)) return notAligned;
          currentParent = parentJson;
        }
        if (!identities.add(`${parentJson}${SEPARATOR}${canonicalJson(entry.item)}`)) return notAligned;
      }
    }
  } finally {
    await steps.close();
  }
}

function addCounts(into: Counts, from: Counts): void {
  for (const metric of Object.keys(from)) {
    const source = from[metric];
    const target = into[metric];
    if (!target) into[metric] = source;
    else for (let i = 0; i < source.length; i++) target[i] += source[i];
  }
}

function addComponent(into: ComponentUsage[], component: ComponentUsage): void {
  const same = into.find(
    (c) => sameCanonical(c.meta, component.meta) && sameCanonical(c.attrs, component.attrs),
  );
  if (same) addCounts(same.counts, component.counts);
  else into.push({ meta: component.meta, attrs: component.attrs, counts: component.counts });
}

/**
 * Adds one month's leaves into the combined ones (leaves with equal attributes are one). The counts
 * of a step's entries are fresh arrays of that step's reading, so they are taken over and added into.
 * Attributes are compared as read (the months of one provider write them alike), and put in
 * canonical order at the end (`canonicalLeaves`).
 */
function addLeaves(into: UsageLeaf[], leaves: readonly UsageLeaf[]): void {
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i];
    const at = into[i];
    const same =
      at !== undefined && sameCanonical(at.attrs, leaf.attrs)
        ? at
        : into.find((l) => sameCanonical(l.attrs, leaf.attrs));
    if (same) {
      addCounts(same.counts, leaf.counts);
      for (const component of leaf.components) addComponent(same.components, component);
    } else {
      const added: UsageLeaf = { attrs: leaf.attrs, counts: leaf.counts, components: [] };
      for (const component of leaf.components) addComponent(added.components, component);
      into.push(added);
    }
  }
}

/** The combined leaves with their attributes and components in canonical member order. */
function canonicalLeaves(leaves: UsageLeaf[]): UsageLeaf[] {
  for (const leaf of leaves) {
    leaf.attrs = canonicalCopy(leaf.attrs);
    for (const component of leaf.components) {
      component.meta = canonicalCopy(component.meta);
      component.attrs = canonicalCopy(component.attrs);
    }
  }
  return leaves;
}

export interface LockstepItem {
  parent?: JsonObject;
  item: JsonObject;
  leaves: UsageLeaf[];
}

/**
 * Second pass: the merged items, step by step. Descriptions come out in canonical member order, as
 * from the merge with a table.
 */
export async function* lockstepItems(
  months: readonly StoredMonth[],
  read: ElementReader,
): AsyncGenerator<LockstepItem> {
  const steps = new SideBySide(months);
  const changed = (m: number): ExportError =>
    new ExportError(
      'invalid_input',
      `Stored month ${months[m].yearMonth} changed while the range was exported; export it again`,
    );
  try {
    for (;;) {
      const step = await steps.next();
      if (!step) throw changed(0);
      if (step.done) return;
      const all = step.elements.map((element, m) => read(element, months[m], m));
      for (let m = 1; m < all.length; m++) if (!sameIdentities(all[0], all[m])) throw changed(m);
      for (let i = 0; i < all[0].length; i++) {
        const leaves: UsageLeaf[] = [];
        for (const entries of all) addLeaves(leaves, entries[i].leaves);
        const { parent, item } = all[0][i];
        yield {
          ...(parent && { parent: canonicalCopy(parent) }),
          item: canonicalCopy(item),
          leaves: canonicalLeaves(leaves),
        };
      }
    }
  } finally {
    await steps.close();
  }
}
