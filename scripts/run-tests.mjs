#!/usr/bin/env node
// Runs every compiled test file of every workspace on node's built-in runner. Node 20's
// `--test` takes no globs, so the files are listed here; the runner prints its own summary.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  let found = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found = found.concat(testFiles(path));
    else if (entry.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const filter = process.argv.slice(2);
const files = readdirSync('packages')
  .flatMap((pkg) => testFiles(join('packages', pkg, 'dist', 'test')))
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files found; did the build run?');
  process.exit(1);
}
// A test that hangs fails after 3 minutes with its name, instead of stalling CI until it is killed.
const result = spawnSync(process.execPath, ['--test', '--test-timeout=180000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
