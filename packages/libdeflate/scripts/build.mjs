#!/usr/bin/env node
// Builds the binding at install time. It is an accelerator, not a requirement: without
// libdeflate's headers (Debian: libdeflate-dev) the build fails, this says so on one line, and
// Slipway compresses gzip with Node's zlib instead (same output format, about 2x the CPU).
import { spawnSync } from 'node:child_process';

const result = spawnSync('node-gyp', ['rebuild'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
  shell: process.platform === 'win32',
});
if (result.status !== 0) {
  const why = result.error?.message ?? `${result.stderr ?? ''}`.trim().split('\n').filter(Boolean).slice(-1)[0] ?? 'unknown error';
  process.stderr.write(
    `@slipway/libdeflate: not built (${why}); gzip falls back to zlib. Install libdeflate-dev and run npm rebuild @slipway/libdeflate.\n`,
  );
}
