#!/usr/bin/env node
/**
 * Rewrites citations of the two project background documents that are not part of the repository
 * ("spec §7.1", "compat spec §2.3", "field notes §2.5", "notes §1.13", "H7", "the FOLIO compatibility
 * spec", paths under /work/shared or ../shared) so that they point at the documents that are:
 *
 *   spec §7.1            → folio-contract §7.1      (docs/folio-contract.md)
 *   field notes §2.5     → counter-notes §2.5       (docs/counter-notes.md)
 *   H7                   → folio-contract H7
 *   (§6.4)  (no prefix)  → (folio-contract §6.4)
 *   checklist §9.1 24–27 → folio-contract checklist §9.1 24–27
 *
 * Both documents keep the section numbers of the originals, so the rewrite is textual. Only comments and
 * string literals of .ts/.js/.mjs/.cjs files are changed (never code: `H7` as an identifier stays),
 * prose outside fenced code blocks in Markdown, and comments in .html/.css; plus one code line that read
 * fixtures from /work/shared. Files are found by walking src/, test/ (without test/fixtures/), bench/,
 * web/, docs/ (without the two target documents) and README.md, and rules match text only, so the script
 * works on a tree whose files have moved. Running it twice changes nothing the second time.
 *
 * Usage: node scripts/rewrite-references.mjs [--check] [--quiet] [root]
 *   root      repository root (default: the current directory)
 *   --check   change nothing; exit 1 when a file would change (for CI)
 *   --quiet   print only the summary and the warnings
 * It prints each changed file with its number of changed lines, then warnings: citations it could not
 * resolve (a section or rule id the target document does not have, a § without a document) and mentions
 * of /work/shared, ../shared, "spec" or "field notes" that are left.
 */
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, extname, basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const FOLIO = 'folio-contract';
const NOTES = 'counter-notes';
const TARGET_DOCS = new Set(['folio-contract.md', 'counter-notes.md']);
const WALK_DIRS = ['src', 'test', 'bench', 'web', 'docs'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'fixtures', 'vendor', '.git', 'data', 'coverage']);
const SCRIPT_EXT = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs']);

// ---------------------------------------------------------------------------------------------
// Text rules

/**
 * Paths of the background material named in prose (comments, Markdown). String literals keep theirs: a
 * path in code is a behaviour, so it is reported, not changed.
 */
const PATH_PHRASES = [
  [/(?:\/work\/shared|(?:\.\.\/)+shared)\/docs\/folio-compat-spec\.md/g, 'docs/folio-contract.md'],
  [/(?:\/work\/shared|(?:\.\.\/)+shared)\/docs\/counter-field-notes\.md/g, 'docs/counter-notes.md'],
  [/(?:\/work\/shared|(?:\.\.\/)+shared)\/fixtures\/counter/g, 'test/fixtures/counter'],
];

/** Whole-segment phrase rules (they may span a line break inside a JSDoc comment). Idempotent. */
const PHRASES = [
  // "§2 of the compat spec" → "folio-contract §2".
  [/§(\d+(?:\.\d+)*) of the (?:FOLIO )?compat(?:ibility)? spec(?:ification)?\b/g, `${FOLIO} §$1`],
  // The issue that collected the exception policy: the policy now lives in counter-notes §2.5.
  [/,?\s+and the issue's policy list\b/g, ''],
  [/\bthe issue's(\s+(?:\*\s+)?)exception policy\b/g, `the$1exception policy of ${NOTES} §2.5`],
  [/\bissue policy list\b/g, `${NOTES} §2.5`],
  [/\bevery code group of the issue\b/g, `every code group of ${NOTES} §2.5`],
  // Checklist numbers without a section.
  [/\(§6\.7; 11, 64\)/g, '(§6.7; checklist 11, 64)'],
  [/\(spec example\)/g, `(${FOLIO} §7.3 example)`],
  // Timing rules of the field notes are counter-notes §4.
  [/\b[Ff]ield notes timing rules\b/g, `${NOTES} §4 (timing rules)`],
];

/** Old document prefixes directly before a § or an H rule. */
const SPEC_PREFIX =
  /\b(?:the )?(?:FOLIO )?(?:[Cc]ompat(?:ibility)?[ -])?[Ss]pec(?:ification)?(?: section)? (?=§|H(?:1[0-2]|[1-9])\b)/g;
const NOTES_PREFIX = /(?<![\w-])(?:[Ff]ield[ -])?[Nn]otes (?=§)/g;
/** The spec named without a section. */
const SPEC_NAME = /\b(?:the )?(?:FOLIO )?compat(?:ibility)? spec(?:ification)?\b(?! *§)/g;
/** "counter-notes §1.2 and timing rules" (after the prefix rule). */
const AND_TIMING = new RegExp(`(${NOTES} §[\\d.]+) and timing rules\\b`, 'g');

const SECTION = /§\d+(?:\.\d+)*/y;
const H_RULE = /H(?:1[0-2]|[1-9])(?![\w])/y;
const DOC_AT = new RegExp(`(?:${FOLIO}|${NOTES})(?![\\w-])`, 'y');

/** Text just before a § that makes it someone else's section (RFC 8259 §8.1, CoP §3.3). */
function foreignSection(before) {
  return /\b(?:RFC|CoP|ISO|Appendix)\s*[\w.-]*\s*$/i.test(before);
}

/**
 * One line of a comment, string or prose: prefixes replaced, bare citations given their document.
 * `defaultDoc` is the document a § without any prefix on its line belongs to.
 */
export function rewriteLine(line, defaultDoc) {
  let out = line
    .replace(SPEC_PREFIX, `${FOLIO} `)
    .replace(NOTES_PREFIX, `${NOTES} `)
    .replace(SPEC_NAME, 'docs/folio-contract.md')
    .replace(AND_TIMING, '$1 and §4 (timing rules)');
  // Walk the line: a document name sets the context; a § or H id without context gets a prefix.
  let result = '';
  let folioSeen = false;
  let anySeen = false;
  let i = 0;
  while (i < out.length) {
    DOC_AT.lastIndex = i;
    const doc = DOC_AT.exec(out);
    if (doc && (i === 0 || !/[\w-]/.test(out[i - 1]))) {
      anySeen = true;
      if (doc[0] === FOLIO) folioSeen = true;
      result += doc[0];
      i += doc[0].length;
      continue;
    }
    SECTION.lastIndex = i;
    const section = out[i] === '§' ? SECTION.exec(out) : null;
    if (section) {
      if (!anySeen && !foreignSection(out.slice(0, i))) {
        // The numbered checklist is always folio-contract §9.
        const checklist = /\bchecklist $/.exec(result);
        const doc = checklist ? FOLIO : defaultDoc;
        if (checklist) result = `${result.slice(0, checklist.index)}${doc} ${result.slice(checklist.index)}`;
        else result += `${doc} `;
        anySeen = true;
        if (doc === FOLIO) folioSeen = true;
      }
      result += section[0];
      i += section[0].length;
      continue;
    }
    H_RULE.lastIndex = i;
    const rule = out[i] === 'H' && (i === 0 || !/[\w-]/.test(out[i - 1])) ? H_RULE.exec(out) : null;
    if (rule) {
      if (!folioSeen) {
        result += `${FOLIO} `;
        folioSeen = true;
        anySeen = true;
      }
      result += rule[0];
      i += rule[0].length;
      continue;
    }
    result += out[i];
    i += 1;
  }
  // Numbered checklist items next to a folio-contract citation: "tests 142–144" → "checklist items …".
  if (result.includes(FOLIO)) {
    result = result
      .replace(/\btests (?=\d{1,3}(?:\b|[–-]))/g, 'checklist items ')
      .replace(/\btest (?=\d{1,3}\b)/g, 'checklist item ');
  }
  return result;
}

/** A comment, string or prose segment, line by line after the phrase rules. */
export function rewriteSegment(text, defaultDoc, kind = 'comment') {
  let out = text;
  if (kind === 'comment') for (const [re, to] of PATH_PHRASES) out = out.replace(re, to);
  for (const [re, to] of PHRASES) out = out.replace(re, to);
  return out
    .split('\n')
    .map((l) => rewriteLine(l, defaultDoc))
    .join('\n');
}

/** The document a bare § of this file belongs to: counter-notes when it cites only the field notes. */
export function defaultDocOf(text) {
  const notes = /(?:field[ -])?notes §|counter-notes §/i.test(text);
  const spec = /spec(?:ification)? (?:§|H\d)|compat(?:ibility)? spec|folio-contract/i.test(text);
  return notes && !spec ? NOTES : FOLIO;
}

// ---------------------------------------------------------------------------------------------
// Segmenting source files: only comments and string literals are rewritten

const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'case',
  'do',
  'else',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'instanceof',
  'yield',
  'await',
]);

/**
 * Splits JavaScript/TypeScript into segments `{ kind: 'code' | 'comment' | 'string', text }`.
 * Template literal text is a string segment; `${…}` inside it is code (nested templates included).
 */
export function segmentScript(src) {
  const segs = [];
  let code = '';
  let i = 0;
  const n = src.length;
  /** Last significant code character or word, for telling a regex literal from a division. */
  let lastSig = '';
  const templateDepth = []; // brace depth at which each open `${` started
  let braceDepth = 0;

  const flushCode = () => {
    if (code) segs.push({ kind: 'code', text: code });
    code = '';
  };
  const push = (kind, text) => {
    flushCode();
    segs.push({ kind, text });
  };
  const regexAllowed = () => {
    if (lastSig === '') return true;
    if (/^[A-Za-z_$][\w$]*$/.test(lastSig)) return REGEX_AFTER_WORD.has(lastSig);
    if (/^[\d.]+$/.test(lastSig)) return false;
    return !/[)\]}]$/.test(lastSig);
  };
  /** Reads template text from `start` (just after ` or }) to the closing ` or the next `${`. */
  const readTemplate = (start) => {
    let j = start;
    while (j < n) {
      if (src[j] === '\\') j += 2;
      else if (src[j] === '`') return { end: j + 1, closed: true };
      else if (src[j] === '$' && src[j + 1] === '{') return { end: j + 2, closed: false };
      else j += 1;
    }
    return { end: n, closed: true };
  };

  while (i < n) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = n;
      push('comment', src.slice(i, j));
      i = j;
      continue;
    }
    if (c === '/' && next === '*') {
      let j = src.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      push('comment', src.slice(i, j));
      i = j;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      j = Math.min(j + 1, n);
      push('string', src.slice(i, j));
      lastSig = 'x';
      i = j;
      continue;
    }
    // A template literal's text runs from ` (or from the } that closes a `${`) to the next ` or `${`.
    const resumesTemplate =
      c === '}' && templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === braceDepth;
    if (c === '`' || resumesTemplate) {
      if (resumesTemplate) templateDepth.pop();
      const t = readTemplate(i + 1);
      push('string', src.slice(i, t.end));
      if (!t.closed) templateDepth.push(braceDepth);
      lastSig = t.closed ? 'x' : '{';
      i = t.end;
      continue;
    }
    if (c === '/' && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== '\n') {
        if (src[j] === '\\') j += 2;
        else if (src[j] === '/' && !inClass) break;
        else {
          if (src[j] === '[') inClass = true;
          else if (src[j] === ']') inClass = false;
          j += 1;
        }
      }
      j += 1;
      while (j < n && /[a-z]/i.test(src[j])) j += 1;
      code += src.slice(i, j);
      lastSig = 'x';
      i = j;
      continue;
    }
    if (c === '{') braceDepth += 1;
    if (c === '}') braceDepth -= 1;
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(src[j])) j += 1;
      lastSig = src.slice(i, j);
      code += lastSig;
      i = j;
      continue;
    }
    if (!/\s/.test(c)) lastSig = c;
    code += c;
    i += 1;
  }
  flushCode();
  return segs;
}

/**
 * Splits text at the matches of `re`: matches become segments of kind `matched`, the text between them
 * segments of kind `between`.
 */
function splitByMatches(src, re, matched, between) {
  const segs = [];
  let last = 0;
  for (const m of src.matchAll(re)) {
    if (m.index > last) segs.push({ kind: between, text: src.slice(last, m.index) });
    segs.push({ kind: matched, text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < src.length) segs.push({ kind: between, text: src.slice(last) });
  return segs;
}

/** Markdown prose is rewritten, fenced code blocks are not; in HTML and CSS only comments are. */
const FENCED_BLOCK = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;

function segmentsOf(file, text) {
  const ext = extname(file).toLowerCase();
  if (SCRIPT_EXT.has(ext)) return segmentScript(text);
  if (ext === '.md') return splitByMatches(text, FENCED_BLOCK, 'code', 'comment');
  if (ext === '.html') return splitByMatches(text, /<!--[\s\S]*?-->/g, 'comment', 'code');
  if (ext === '.css') return splitByMatches(text, /\/\*[\s\S]*?\*\//g, 'comment', 'code');
  return undefined;
}

/** Code lines that read the background material from outside the repository. */
const CODE_RULES = [
  // test/mock/samples.ts fell back to /work/shared for the official samples; all of them are in
  // test/fixtures/counter/ now.
  [/,\s*'\/work\/shared\/fixtures\/counter'/g, ''],
];

/** The rewritten text of one file (unchanged text when nothing applies). */
export function rewriteFile(file, text) {
  let src = text;
  if (SCRIPT_EXT.has(extname(file).toLowerCase()))
    for (const [re, to] of CODE_RULES) src = src.replace(re, to);
  const segs = segmentsOf(file, src);
  if (!segs) return text;
  const defaultDoc = defaultDocOf(src);
  return segs.map((s) => (s.kind === 'code' ? s.text : rewriteSegment(s.text, defaultDoc, s.kind))).join('');
}

// ---------------------------------------------------------------------------------------------
// Checking the result against the target documents

function headingsOf(path) {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const sections = new Set();
  for (const m of text.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)) sections.add(m[1]);
  const rules = new Set([...text.matchAll(/^\| (H\d+) +\|/gm)].map((m) => m[1]));
  return { sections, rules };
}

/** Warnings for one rewritten file: unresolved citations and mentions that are left. */
function warningsOf(file, text, docs) {
  const warnings = [];
  const segs = segmentsOf(file, text) ?? [];
  let lineNo = 1;
  for (const seg of segs) {
    const lines = seg.text.split('\n');
    lines.forEach((line, k) => {
      const at = `${file}:${lineNo + k}`;
      if (seg.kind !== 'code' || SCRIPT_EXT.has(extname(file).toLowerCase())) {
        if (/\/work\/shared|\.\.\/shared\b/.test(line)) warnings.push(`${at}: still mentions ${line.trim()}`);
      }
      if (seg.kind === 'code') return;
      if (/\b(?:compat spec|field notes)\b|\bspec §|\bnotes §/i.test(line.replace(/counter-notes §/g, '')))
        warnings.push(`${at}: old reference left: ${line.trim()}`);
      let doc;
      for (const m of line.matchAll(
        new RegExp(
          `(${FOLIO}|${NOTES})(?![\\w-])|§(\\d+(?:\\.\\d+)*)|(?<![\\w-])(H(?:1[0-2]|[1-9]))(?!\\w)`,
          'g',
        ),
      )) {
        if (m[1]) doc = m[1];
        else if (m[2]) {
          if (foreignSection(line.slice(0, m.index))) continue;
          if (!doc) warnings.push(`${at}: § without a document: ${line.trim()}`);
          else if (docs[doc] && !docs[doc].sections.has(m[2]))
            warnings.push(`${at}: ${doc} has no §${m[2]}: ${line.trim()}`);
        } else if (m[3] && doc === FOLIO && docs[FOLIO] && !docs[FOLIO].rules.has(m[3])) {
          warnings.push(`${at}: ${FOLIO} has no rule ${m[3]}: ${line.trim()}`);
        }
      }
    });
    lineNo += lines.length - 1;
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// Files

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(path, out);
    } else if (e.isFile()) out.push(path);
  }
}

export function filesOf(root) {
  const files = [];
  for (const dir of WALK_DIRS) walk(join(root, dir), files);
  if (existsSync(join(root, 'README.md'))) files.push(join(root, 'README.md'));
  return files
    .filter((f) => !TARGET_DOCS.has(basename(f)))
    .filter((f) => segmentsOf(f, '') !== undefined)
    .sort();
}

function changedLines(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  let n = Math.abs(x.length - y.length);
  for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) n++;
  return n;
}

function main(argv) {
  const args = argv.filter((a) => !a.startsWith('--'));
  const check = argv.includes('--check');
  const quiet = argv.includes('--quiet');
  const root = args[0] ?? process.cwd();
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`rewrite-references: ${root} is not a directory`);
    return 2;
  }
  const docs = {
    [FOLIO]: headingsOf(join(root, 'docs', 'folio-contract.md')),
    [NOTES]: headingsOf(join(root, 'docs', 'counter-notes.md')),
  };
  let changed = 0;
  const warnings = [];
  for (const file of filesOf(root)) {
    const rel = relative(root, file);
    const before = readFileSync(file, 'utf8');
    const after = rewriteFile(file, before);
    if (after !== before) {
      changed++;
      if (!quiet)
        console.log(`${check ? 'would change' : 'changed'} ${rel} (${changedLines(before, after)} lines)`);
      if (!check) writeFileSync(file, after);
    }
    warnings.push(...warningsOf(rel, after, docs));
  }
  for (const [doc, found] of Object.entries(docs))
    if (!found) warnings.push(`docs/${doc}.md not found: citations were not checked against it`);
  console.log(`${changed} file(s) ${check ? 'would change' : 'changed'}; ${warnings.length} warning(s)`);
  for (const w of warnings) console.log(`warning: ${w}`);
  return check && changed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  process.exitCode = main(process.argv.slice(2));
