/**
 * Diagnostics: warnings about a report that never stop it from being stored. Each code is counted
 * once per occurrence; only the first few occurrences per code keep their details (the cap), so a
 * report with a million bad items costs a counter, not a million messages.
 * docs/counter-validation.md lists the codes and what each means.
 */
import type { FindingCode } from '../item-split.ts';

export type DiagnosticCode =
  // Layout
  | 'release_differs'
  | 'header_release_differs'
  | 'mixed_layouts'
  | 'item_unreadable'
  // JSON Schema of the release the data is in
  | 'schema_header'
  | 'schema_item'
  // Code of Practice rules
  | 'report_id_mismatch'
  | 'metric_not_allowed'
  | 'usage_outside_request'
  | 'header_period_outside_request'
  | 'yop_invalid'
  | 'unique_exceeds_total'
  | 'negative_count'
  | 'count_as_string'
  | 'count_invalid'
  | 'item_id_missing'
  // Text PostgreSQL cannot store, replaced by U+FFFD (counter/storable-text.ts)
  | 'text_replaced'
  // What the splitter noticed while cutting months, under the same names
  | FindingCode;

/** Where one occurrence was found. */
export interface DiagnosticPlace {
  /** Index of the element in `Report_Items` (0-based); absent for the header and the whole report. */
  item?: number;
  /** JSON pointer inside that element (or inside `Report_Header` for header checks). */
  path?: string;
}

export interface DiagnosticExample extends DiagnosticPlace {
  message: string;
}

/** One code with how often it occurred; `message`/`item`/`path` are those of the first occurrence. */
export interface Diagnostic extends DiagnosticPlace {
  code: DiagnosticCode;
  message: string;
  count: number;
  /** Further occurrences with their details, up to the cap (the first one is the diagnostic itself). */
  examples?: DiagnosticExample[];
}

export const DEFAULT_MAX_EXAMPLES = 5;

/** Diagnostics of one scope (a month, or the whole report), de-duplicated by code. */
export class DiagnosticSet {
  private readonly byCode = new Map<DiagnosticCode, Diagnostic>();

  constructor(private readonly maxExamples = DEFAULT_MAX_EXAMPLES) {}

  add(code: DiagnosticCode, message: string, place: DiagnosticPlace = {}, count = 1): void {
    const existing = this.byCode.get(code);
    if (!existing) {
      this.byCode.set(code, { code, message, ...place, count });
      return;
    }
    const kept = 1 + (existing.examples?.length ?? 0);
    existing.count += count;
    if (kept < this.maxExamples) (existing.examples ??= []).push({ message, ...place });
  }

  /** Adds every diagnostic of another set (its counts and as many examples as the cap allows). */
  addAll(diagnostics: readonly Diagnostic[]): void {
    for (const d of diagnostics) {
      const { code, message, count, examples, ...place } = d;
      this.add(code, message, place, count);
      for (const example of examples ?? []) {
        const { message: text, ...at } = example;
        this.addExample(code, text, at);
      }
    }
  }

  private addExample(code: DiagnosticCode, message: string, place: DiagnosticPlace): void {
    const existing = this.byCode.get(code);
    if (!existing || 1 + (existing.examples?.length ?? 0) >= this.maxExamples) return;
    (existing.examples ??= []).push({ message, ...place });
  }

  get size(): number {
    return this.byCode.size;
  }

  has(code: DiagnosticCode): boolean {
    return this.byCode.has(code);
  }

  /** Copies, ordered by code, so the result does not change when the set does. */
  list(): Diagnostic[] {
    return [...this.byCode.values()]
      .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
      .map((d) => ({ ...d, ...(d.examples && { examples: d.examples.map((e) => ({ ...e })) }) }));
  }
}
