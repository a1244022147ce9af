#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build` or `npm start`) when it is at least as new as
// every source file; otherwise the TypeScript sources through tsx, so no build step is needed. The
// compiled service starts faster and uses less memory (docs/decisions.md).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
const stamp = join(root, 'dist', '.tsbuildinfo');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (existsSync(compiled) && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(join(root, 'src'))) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
