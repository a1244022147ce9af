/**
 * Shared set-up of the browser tests of the web UI: Debian's Chromium through playwright-core (skipped
 * when it is not installed), one page that records requests leaving the service and script errors, and
 * screenshots into a temporary folder (printed as test diagnostics).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunningService } from '../../src/server.ts';
import { call } from '../helpers/service.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

export interface UiBrowser {
  browser: Browser;
  page: Page;
  /** Requests to anything but the service. */
  outside: string[];
  /** Page errors and console errors, except the browser's notes about failed API answers. */
  problems(): string[];
  shot(name: string, t: { diagnostic(msg: string): void }): Promise<void>;
  close(): Promise<void>;
}

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is not installed (apt-get install chromium): browser test skipped`;
}

/** Launches Chromium with one page for the service's UI (1280×900, UTC, en-GB). */
export async function openUi(svc: RunningService, prefix: string): Promise<UiBrowser> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const shots = mkdtempSync(path.join(tmpdir(), prefix));
  const outside: string[] = [];
  const errors: string[] = [];
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(svc.url) && !url.startsWith('data:') && !url.startsWith('blob:')) outside.push(url);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return {
    browser,
    page,
    outside,
    // Failed API answers (404, 422 …) are logged by the browser as failed resources: expected here.
    problems: () =>
      errors.filter((p) => !/Failed to load resource: the server responded with a status/.test(p)),
    async shot(name, t) {
      const file = path.join(shots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
    },
    close: () => browser.close(),
  };
}

/** A provider record for tests, harvested directly from `serviceUrl`. */
export function providerRecord(label: string, overrides: Record<string, unknown> = {}) {
  return {
    label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example.org/r51' },
      reportRelease: '5.1',
      requestedReports: ['TR'],
      harvestingStart: '2021-01',
      harvestingEnd: '2021-06',
    },
    sushiCredentials: { customerId: 'cust', requestorId: 'req-secret', apiKey: 'key-secret' },
    ...overrides,
  };
}

/** POSTs a record and returns its id. */
export async function create(svc: RunningService, path: string, body: unknown): Promise<string> {
  const res = await call(svc, 'POST', path, { body });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
  return String(res.json.id);
}
