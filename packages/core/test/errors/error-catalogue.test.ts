// The error catalogue, the code and the documentation must agree: every code thrown is declared,
// every declared code is documented with its catalogue status and retryability, and the docs
// name no code that does not exist. (Fastify checks its FST_ERR_* catalogue the same way.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ERROR_CODES } from '../../src/errors/error-codes.js';

// This file runs compiled from packages/core/dist/test/errors/.
const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const ERRORS_DOC = join(REPO_ROOT, 'docs', 'errors.md');
const CATALOGUE = new Set(Object.keys(ERROR_CODES));

/** A whole code: `SLW_` and upper-case words; a prefix such as `SLW_USAGE_` is not one. */
const CODE = /(?<![A-Za-z0-9_])SLW_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_])/g;
/** A code prefix used to match a family (`code.startsWith('SLW_USAGE_')`). */
const PREFIX = /^SLW_(?:[A-Z0-9]+_)+$/;

function codesIn(text: string): string[] {
  return [...text.matchAll(CODE)].map((m) => m[0]);
}

function typeScriptFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (entry === 'dist' || entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...typeScriptFiles(path));
    else if (entry.endsWith('.ts')) found.push(path);
  }
  return found;
}

/** packages/<name>/src/**\/*.ts for every workspace package, present and future. */
function sourceFiles(): string[] {
  const packages = join(REPO_ROOT, 'packages');
  return readdirSync(packages)
    .flatMap((name) => typeScriptFiles(join(packages, name, 'src')))
    .sort();
}

/**
 * The text of every string and template literal of a TypeScript file: where codes live in code.
 * Comments are skipped, so prose such as "one line, `SLW_CODE: message`" is not taken for a code.
 */
function stringLiterals(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const texts: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) texts.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return texts;
}

interface DocRow {
  readonly status: number;
  readonly retryable: string;
}

/** Table rows of docs/errors.md that start with a code: `| `SLW_X` | 422 | no | ... |`. */
function documentedRows(doc: string): Map<string, DocRow[]> {
  const rows = new Map<string, DocRow[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`(SLW_[A-Z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code === undefined) continue;
    const row = { status: Number(cells[2]), retryable: cells[3] ?? '' };
    rows.set(code, [...(rows.get(code) ?? []), row]);
  }
  return rows;
}

describe('the error catalogue', () => {
  const doc = readFileSync(ERRORS_DOC, 'utf8');

  test('the repository root is found from the compiled test file', () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name?: string };
    assert.equal(manifest.name, 'slipway', `${REPO_ROOT} is not the repository root`);
  });

  test('every catalogue code is documented in docs/errors.md with its HTTP status and retryability', () => {
    const rows = documentedRows(doc);
    assert.ok(rows.size > 0, 'docs/errors.md has no table rows of the form | `SLW_...` | status | yes/no |');
    const mentioned = new Set(codesIn(doc));
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      assert.ok(mentioned.has(code), `${code} is not mentioned in docs/errors.md`);
      const found = rows.get(code) ?? [];
      assert.equal(found.length, 1, `${code} needs exactly one table row in docs/errors.md, found ${found.length}`);
      const [row] = found as [DocRow];
      assert.equal(row.status, info.status, `${code}: docs/errors.md says HTTP ${row.status}, the catalogue ${info.status}`);
      assert.equal(row.retryable, info.retryable ? 'yes' : 'no', `${code}: docs/errors.md disagrees on retryable`);
    }
  });

  test('every SLW_ code in the TypeScript sources of every package is declared in the catalogue', () => {
    const files = sourceFiles();
    assert.ok(files.length > 0, 'no TypeScript sources found under packages/*/src');
    const used = new Map<string, string>();
    for (const file of files) {
      for (const text of stringLiterals(file)) {
        for (const code of codesIn(text)) used.set(code, used.get(code) ?? file);
        // A family prefix must name at least one real code.
        if (PREFIX.test(text)) {
          assert.ok(
            [...CATALOGUE].some((c) => c.startsWith(text)),
            `${file}: the prefix ${text} matches no code of the catalogue`,
          );
        }
      }
    }
    // The scan must see the codes the sources are known to throw, or it would pass by finding nothing.
    assert.ok(used.has('SLW_ARTIFACT_SIGNATURE_INVALID') && used.has('SLW_USAGE_UNKNOWN_COMMAND'), 'the source scan found too little');
    const undeclared = [...used].filter(([code]) => !CATALOGUE.has(code)).map(([code, file]) => `${code} (${file})`);
    assert.deepEqual(undeclared, [], `codes used in the sources but missing from ERROR_CODES: ${undeclared.join(', ')}`);
  });

  test('the source scan reads literals and skips comments', () => {
    const sample = join(REPO_ROOT, 'packages', 'core', 'src', 'errors', 'slipway-error.ts');
    const literals = stringLiterals(sample).flatMap(codesIn);
    assert.ok(literals.includes('SLW_IO_NOT_FOUND'), 'a code in a string literal was missed');
    // slipway-error.ts describes its output as `SLW_X_Y: message` in a comment only.
    assert.ok(readFileSync(sample, 'utf8').includes('SLW_X_Y'), 'the comment this check relies on is gone; pick another');
    assert.ok(!literals.includes('SLW_X_Y'), 'a code in a comment was taken for a literal');
  });

  test('docs/errors.md names no code that is not in the catalogue', () => {
    const unknown = [...new Set(codesIn(doc))].filter((code) => !CATALOGUE.has(code));
    assert.deepEqual(unknown, [], `docs/errors.md documents codes that do not exist: ${unknown.join(', ')}`);
  });

  test('no other page under docs/ names a code that is not in the catalogue', () => {
    const docsDir = join(REPO_ROOT, 'docs');
    const pages = readdirSync(docsDir).filter((f) => f.endsWith('.md'));
    assert.ok(pages.includes('errors.md'));
    for (const page of pages) {
      const unknown = [...new Set(codesIn(readFileSync(join(docsDir, page), 'utf8')))].filter((code) => !CATALOGUE.has(code));
      assert.deepEqual(unknown, [], `docs/${page} names codes that do not exist: ${unknown.join(', ')}`);
    }
  });
});
