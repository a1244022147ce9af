/**
 * JSON text of many shallow copies of one object that differ from it only in a few members (the
 * per-month copies of an item): the members they share are serialised once, not once per copy.
 */
import type { JsonObject } from './json.ts';

/** A run of shared members as text, or the key of a member that differs per copy. */
type Segment = { text: string } | { key: string };

function member(key: string, value: unknown): string {
  return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
}

/** The segments, or undefined when the copies do not all have the original's keys in its order. */
function segmentsOf(original: JsonObject, copies: Iterable<JsonObject>): Segment[] | undefined {
  const keys = Object.keys(original);
  const differs = new Set<string>();
  for (const copy of copies) {
    const copyKeys = Object.keys(copy);
    if (copyKeys.length !== keys.length) return undefined;
    for (let i = 0; i < keys.length; i++) {
      if (copyKeys[i] !== keys[i]) return undefined;
      if (copy[keys[i]] !== original[keys[i]]) differs.add(keys[i]);
    }
  }
  const segments: Segment[] = [];
  let shared: string[] = [];
  for (const key of keys) {
    if (differs.has(key)) {
      if (shared.length > 0) segments.push({ text: shared.join(',') });
      shared = [];
      segments.push({ key });
    } else if (original[key] !== undefined) shared.push(member(key, original[key]));
  }
  if (shared.length > 0) segments.push({ text: shared.join(',') });
  return segments;
}

function render(segments: Segment[], copy: JsonObject): string {
  const parts: string[] = [];
  for (const segment of segments) {
    if ('text' in segment) parts.push(segment.text);
    else if (copy[segment.key] !== undefined) parts.push(member(segment.key, copy[segment.key]));
  }
  return `{${parts.join(',')}}`;
}

/** `JSON.stringify` of each copy (same text), computed with the shared members serialised once. */
export function stringifyCopies<K>(original: JsonObject, copies: Map<K, JsonObject>): Map<K, string> {
  const texts = new Map<K, string>();
  const segments = copies.size > 1 ? segmentsOf(original, copies.values()) : undefined;
  for (const [key, copy] of copies) texts.set(key, segments ? render(segments, copy) : JSON.stringify(copy));
  return texts;
}
