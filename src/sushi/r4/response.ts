/**
 * Streaming reader of a SUSHI `ReportResponse` (with or without SOAP envelope) into month buckets
 * (folio-contract §7.6 R4 row, §7.10.3, §8.4): exceptions, a SOAP fault, and the first COUNTER report, whose
 * `ReportItems` are converted one at a time and routed to the months of their exact-month periods.
 *
 * Split rule (Java's Counter4Utils.split): the months are the distinct months of every
 * `ItemPerformance/Period` begin and end of the first customer; a month keeps the items with a metric
 * whose period is exactly that month, with only those metrics. A month without such a metric makes the
 * response invalid (`Split report size not equal to 1`). Months without usage produce no record.
 */
import { SaxesParser } from 'saxes';
import type { SushiException } from '../../counter/index.ts';
import { MonthBuckets } from '../../counter/month-buckets.ts';
import { lastDayOf, parseYearMonth, type YearMonth } from '../../counter/year-month.ts';
import { memoryBudgets } from '../../memory-budget.ts';
import {
  customerMeta,
  EXCEPTION_SEVERITY,
  reportItem,
  reportMeta,
  type R4Json,
  type R4Metric,
} from './model.ts';
import { childText, deepText, firstChild, localName, newNode, type XNode } from './xml.ts';

export interface R4Exception extends SushiException {
  /** Upper-case severity constant (`ERROR`, `FATAL`, `WARNING`, ...) or the raw text upper-cased. */
  severityConstant: string | undefined;
  /** Error or Fatal (Java's Counter4Utils.getExceptions). */
  isError: boolean;
}

export interface R4Parsed {
  /** The XML could not be parsed. */
  xmlError?: string;
  /** A SOAP fault's text. */
  fault?: string;
  exceptions: R4Exception[];
  /** Whether a COUNTER report element was found. */
  hasReport: boolean;
  customerCount: number;
  /** Report items of the first customer. */
  itemCount: number;
  /** Stored report without `customer` (vendor, created, id, ...). */
  meta: R4Json;
  /** The first customer without `reportItems`. */
  customer: R4Json;
  /** Sorted distinct months of all periods; and the months that have exact-month metrics. */
  periodMonths: YearMonth[];
  buckets: MonthBuckets;
}

type Role = 'response' | 'wrapper' | 'reports' | 'report' | 'customer' | 'capture' | 'inside' | 'other';

interface Frame {
  role: Role;
  node?: XNode;
}

export interface R4ReadOptions {
  spillThresholdBytes?: number;
  memoryBudgetBytes?: number;
  tmpDir?: string;
}

function exactMonth(period: R4Metric['period']): YearMonth | undefined {
  if (!period?.begin || !period.end) return undefined;
  const month = parseYearMonth(period.begin);
  return month !== undefined && period.begin === `${month}-01` && period.end === lastDayOf(month)
    ? month
    : undefined;
}

function toException(node: XNode): R4Exception {
  const numberText = childText(node, 'Number')?.trim();
  const code = numberText !== undefined && /^[+-]?\d+$/.test(numberText) ? Number(numberText) : undefined;
  const severity = childText(node, 'Severity')?.trim();
  const severityConstant =
    severity === undefined || severity === ''
      ? undefined
      : (EXCEPTION_SEVERITY.get(severity.toLowerCase()) ?? severity.toUpperCase());
  const message = childText(node, 'Message') ?? '';
  const helpUrl = childText(node, 'HelpUrl')?.trim() || undefined;
  const dataNode = firstChild(node, 'Data');
  const data = dataNode ? deepText(dataNode).trim() || undefined : undefined;
  const raw = {
    Number: code ?? numberText,
    Severity: severity,
    Message: message,
    HelpUrl: helpUrl,
    Data: data,
  };
  return {
    code,
    ...(severity !== undefined && { severity }),
    message,
    ...(data !== undefined && { data }),
    ...(helpUrl !== undefined && { helpUrl }),
    raw: JSON.parse(JSON.stringify(raw)) as unknown,
    severityConstant,
    isError:
      severityConstant === 'ERROR' ||
      severityConstant === 'FATAL' ||
      !['INFO', 'DEBUG', 'WARNING'].includes(severityConstant ?? ''),
  };
}

/** Receives saxes events and keeps only what the stored report needs. */
class ResponseReader {
  readonly stack: Frame[] = [];
  readonly parsed: R4Parsed;
  private seenResponse = false;
  private seenWrapper = false;
  private reportAttrs: Record<string, string> = {};
  private vendor: XNode | undefined;
  private customerNode: XNode | undefined;
  private readonly months = new Set<YearMonth>();

  constructor(buckets: MonthBuckets) {
    this.parsed = {
      exceptions: [],
      hasReport: false,
      customerCount: 0,
      itemCount: 0,
      meta: {},
      customer: {},
      periodMonths: [],
      buckets,
    };
  }

  open(qualified: string, attributes: Record<string, string>): void {
    const parent = this.stack[this.stack.length - 1];
    const name = localName(qualified);
    if (
      parent?.node &&
      (parent.role === 'capture' || parent.role === 'inside' || parent.role === 'customer')
    ) {
      if (parent.role === 'customer' && name === 'ReportItems') {
        this.stack.push({ role: 'capture', node: newNode(qualified, attributes) });
        return;
      }
      const node = newNode(qualified, attributes);
      parent.node.children.push(node);
      this.stack.push({ role: 'inside', node });
      return;
    }
    this.stack.push(this.frameFor(name, parent?.role, qualified, attributes));
  }

  private frameFor(
    name: string,
    parent: Role | undefined,
    qualified: string,
    attributes: Record<string, string>,
  ): Frame {
    if (name === 'Fault') return { role: 'capture', node: newNode(qualified, attributes) };
    if (name === 'ReportResponse' && !this.seenResponse) {
      this.seenResponse = true;
      return { role: 'response' };
    }
    if (parent === 'response' && name === 'Exception')
      return { role: 'capture', node: newNode(qualified, attributes) };
    if (parent === 'response' && name === 'Report' && !this.seenWrapper) {
      this.seenWrapper = true;
      return { role: 'wrapper' };
    }
    if (parent === 'wrapper' && name === 'Reports') return { role: 'reports' };
    if ((parent === 'wrapper' || parent === 'reports') && name === 'Report' && !this.parsed.hasReport) {
      this.parsed.hasReport = true;
      this.reportAttrs = newNode(qualified, attributes).attrs;
      return { role: 'report' };
    }
    if (parent === 'report' && name === 'Vendor')
      return { role: 'capture', node: newNode(qualified, attributes) };
    if (parent === 'report' && name === 'Customer') {
      this.parsed.customerCount += 1;
      if (this.parsed.customerCount > 1) return { role: 'other' };
      this.customerNode = newNode(qualified, attributes);
      return { role: 'customer', node: this.customerNode };
    }
    return { role: 'other' };
  }

  text(text: string): void {
    const top = this.stack[this.stack.length - 1];
    if (top?.node) top.node.text += text;
  }

  close(): void {
    const frame = this.stack.pop();
    if (!frame) return;
    if (frame.role === 'report') this.finishReport();
    if (frame.role !== 'capture' || !frame.node) return;
    const node = frame.node;
    if (node.name === 'Fault') this.parsed.fault ??= faultText(node);
    else if (node.name === 'Exception') this.parsed.exceptions.push(toException(node));
    else if (node.name === 'Vendor') this.vendor = node;
    else if (node.name === 'ReportItems') this.routeItem(node);
  }

  private routeItem(node: XNode): void {
    this.parsed.itemCount += 1;
    const item = reportItem(node);
    const byMonth = new Map<YearMonth, R4Metric[]>();
    for (const metric of item.itemPerformance) {
      for (const date of [metric.period?.begin, metric.period?.end]) {
        const month = parseYearMonth(date);
        if (month !== undefined) this.months.add(month);
      }
      const month = exactMonth(metric.period);
      if (month === undefined) continue;
      const list = byMonth.get(month);
      if (list) list.push(metric);
      else byMonth.set(month, [metric]);
    }
    for (const [month, metrics] of byMonth) {
      this.parsed.buckets.add(month, JSON.stringify({ ...item, itemPerformance: metrics }));
    }
  }

  private finishReport(): void {
    this.parsed.meta = reportMeta(this.reportAttrs, this.vendor);
    this.parsed.customer = customerMeta(this.customerNode);
  }

  sawResponse(): boolean {
    return this.seenResponse;
  }

  finish(): R4Parsed {
    this.parsed.periodMonths = [...this.months].sort();
    return this.parsed;
  }
}

function faultText(node: XNode): string {
  const soap11 = childText(node, 'faultstring');
  if (soap11 !== undefined) return soap11.trim();
  const reason = firstChild(node, 'Reason');
  return (reason ? deepText(reason) : deepText(node)).trim();
}

/**
 * Reads a response body. Never throws for bad input (the XML error is reported); the caller owns
 * `buckets` and must dispose them. Errors of the body iterator itself are rethrown.
 */
export async function readR4Response(
  body: AsyncIterable<Uint8Array>,
  options: R4ReadOptions = {},
): Promise<R4Parsed> {
  const buckets = new MonthBuckets({
    spillThresholdBytes: options.spillThresholdBytes ?? memoryBudgets().r4SpillThresholdBytes,
    memoryBudgetBytes: options.memoryBudgetBytes ?? memoryBudgets().r4GroupedBytes,
    ...(options.tmpDir !== undefined && { tmpDir: options.tmpDir }),
  });
  const reader = new ResponseReader(buckets);
  const parser = new SaxesParser({ xmlns: false, position: false });
  let xmlError: string | undefined;
  parser.on('error', (error) => {
    xmlError ??= error.message;
  });
  // saxes emits closetag for self-closing tags too.
  parser.on('opentag', (tag) => reader.open(tag.name, tag.attributes as Record<string, string>));
  parser.on('closetag', () => reader.close());
  parser.on('text', (text) => reader.text(text));
  parser.on('cdata', (text) => reader.text(text));
  const decoder = new TextDecoder('utf-8');
  try {
    for await (const chunk of body) {
      if (xmlError !== undefined) continue;
      parser.write(decoder.decode(chunk, { stream: true }));
      await buckets.spillIfNeeded();
    }
    if (xmlError === undefined) parser.write(decoder.decode()).close();
  } catch (error) {
    await buckets.dispose();
    throw error;
  }
  const parsed = reader.finish();
  if (xmlError === undefined && !reader.sawResponse() && parsed.fault === undefined) {
    xmlError = 'no ReportResponse element found';
  }
  return xmlError === undefined ? parsed : { ...parsed, xmlError };
}

export type { R4Json };
