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
  // The compiler's own complaint (e.g. "libdeflate.h: No such file or directory") says the most.
  const lines = `${result.stderr ?? ''}`.split('\n').filter(Boolean);
  const why = result.error?.message ?? lines.find((line) => / error: /.test(line))?.trim() ?? lines.at(-1) ?? 'unknown error';
  process.stderr.write(
    `@slipway/libdeflate: not built (${why}); gzip falls back to zlib. Install libdeflate-dev and run npm rebuild @slipway/libdeflate.\n`,
  );
}
