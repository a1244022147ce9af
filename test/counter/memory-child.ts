/**
 * Child process of memory.test.ts: splits a generated 5.1 TR of `argv[2]` MiB and reads every month
 * as a stream, then prints one JSON line with the item counts per month and the peak RSS.
 */
import { splitReportStream } from '../../src/counter/index.ts';
import { hugeReportChunks } from '../../mock/huge.ts';

async function* body(bytes: number): AsyncGenerator<Uint8Array> {
  const request = { release: '5.1', begin: '2023-01', end: '2023-12', bytes } as const;
  for (const chunk of hugeReportChunks(request, 64 * 1024)) yield Buffer.from(chunk);
}

async function main(): Promise<void> {
  const result = await splitReportStream(body(Number(process.argv[2]) * 1024 * 1024), '5.1');
  if (result.kind !== 'report') throw new Error(`not a report: ${result.kind}`);
  const itemsPerMonth: Record<string, number> = {};
  let chars = 0;
  for await (const month of result.monthStreams()) {
    let n = 0;
    for await (const item of month.items()) {
      n += 1;
      chars += item.length;
    }
    itemsPerMonth[month.yearMonth] = n;
  }
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ itemCount: result.itemCount, itemsPerMonth, chars, peakRssMB }));
}

await main();
