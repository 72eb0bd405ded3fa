#!/usr/bin/env node
// Bundles the compiled CLI into one file, packages/cli/dist/slipway.mjs, and the agent into
// packages/agent/dist/slipway-agent.mjs. One file starts about
// three times faster than resolving a few hundred ES modules (it matters for `artifact verify`,
// measured against `openssl dgst`), and it is what a user copies to an air-gapped signing machine.
// zstd-napi and @slipway/libdeflate stay external: native addons, loaded only when a payload needs them.
// @slipway/server stays external too: only `slipway server` loads it, from node_modules.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * Writes each output only when it changed, and then by rename: `npm start` rebuilds while tests
 * (the quickstart's) run the bundles, and a process must never load a half-written one.
 */
async function bundle(entryPoint, outfile, external) {
  const { outputFiles } = await build({
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies (mqtt-packet's) require node built-ins; an ES module bundle has no `require` of its own.
    banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
    write: false,
  });
  for (const file of outputFiles) {
    let current = null;
    try {
      current = readFileSync(file.path);
    } catch {}
    if (current?.equals(file.contents)) continue;
    const partial = `${file.path}.partial-${process.pid}`;
    writeFileSync(partial, file.contents, { mode: file.path.endsWith('.mjs') ? 0o755 : 0o644 });
    renameSync(partial, file.path);
  }
}

// @peculiar/x509 (and reflect-metadata) only for `slipway provision`: loaded from node_modules when used.
await bundle('packages/cli/dist/src/main.js', 'packages/cli/dist/slipway.mjs', [
  'zstd-napi',
  '@slipway/libdeflate',
  '@slipway/server',
  '@peculiar/x509',
  'reflect-metadata',
]);
// The agent: one file a device image ships next to node, with the same native addons left out.
await bundle('packages/agent/dist/src/cli.js', 'packages/agent/dist/slipway-agent.mjs', ['zstd-napi', '@slipway/libdeflate']);
