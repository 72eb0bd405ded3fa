#!/usr/bin/env node
// Bundles the compiled CLI into one file, packages/cli/dist/slipway.mjs, and the agent into
// packages/agent/dist/slipway-agent.mjs. One file starts about
// three times faster than resolving a few hundred ES modules (it matters for `artifact verify`,
// measured against `openssl dgst`), and it is what a user copies to an air-gapped signing machine.
// zstd-napi and @slipway/libdeflate stay external: native addons, loaded only when a payload needs them.
// @slipway/server stays external too: only `slipway server` loads it, from node_modules.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

const outfile = 'packages/cli/dist/slipway.mjs';
await build({
  entryPoints: ['packages/cli/dist/src/main.js'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // @peculiar/x509 (and reflect-metadata) only for `slipway provision`: loaded from node_modules when used.
  external: ['zstd-napi', '@slipway/libdeflate', '@slipway/server', '@peculiar/x509', 'reflect-metadata'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);

// The agent: one file a device image ships next to node, with the same native addons left out.
const agentOutfile = 'packages/agent/dist/slipway-agent.mjs';
await build({
  entryPoints: ['packages/agent/dist/src/cli.js'],
  outfile: agentOutfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['zstd-napi', '@slipway/libdeflate'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(agentOutfile, 0o755);
