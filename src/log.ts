import { pino, type Logger } from 'pino';
import { SecretMatcher } from './redact.ts';

export type { Logger };

/**
 * Credential values seen by this process (provider API keys, requestor ids, tokens). Every log line
 * is scrubbed of them before it is written, whatever code produced it.
 */
export class SecretRegistry {
  private readonly values = new Set<string>();
  private matcher: SecretMatcher | undefined;
  /** Any non-empty value counts, however short: src/redact.ts removes short ones as whole tokens. */
  add(...values: (string | undefined | null)[]): void {
    for (const v of values)
      if (typeof v === 'string' && v !== '' && !this.values.has(v)) {
        this.values.add(v);
        this.matcher = undefined;
      }
  }
  /** Adds the credentials of a provider or aggregator record. */
  addFromRecord(record: unknown): void {
    if (!record || typeof record !== 'object') return;
    const r = record as {
      sushiCredentials?: Record<string, string>;
      aggregatorConfig?: Record<string, string>;
    };
    const c = r.sushiCredentials;
    if (c && typeof c === 'object') this.add(c.apiKey, c.requestorId);
    const a = r.aggregatorConfig;
    if (a && typeof a === 'object') this.add(a.apiKey, a.requestorId);
  }
  private compiled(): SecretMatcher {
    this.matcher ??= new SecretMatcher(this.values);
    return this.matcher;
  }
  redact(text: string): string {
    return this.compiled().redact(text);
  }
  /** A JSON log line, redacted string by string so that it stays valid JSON. */
  redactJsonLine(line: string): string {
    return this.compiled().redactJsonLine(line);
  }
  [Symbol.iterator](): Iterator<string> {
    return this.values[Symbol.iterator]();
  }
}

export const secrets = new SecretRegistry();

export interface LogOptions {
  level?: string;
  /** Where lines go; default stdout. */
  write?: (line: string) => void;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-okapi-token"]',
          'req.headers.cookie',
          '*.sushiCredentials.apiKey',
          '*.sushiCredentials.requestorId',
          '*.aggregatorConfig.apiKey',
        ],
        censor: '***',
      },
    },
    { write: (line: string) => write(secrets.redactJsonLine(line)) },
  );
}
