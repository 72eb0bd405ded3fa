#!/usr/bin/env node
// A committed launcher, so `npm ci` can link the `slipway-agent` bin before the first build.
// The real program is the single-file bundle that `npm run build` writes (what a device image ships).
try {
  await import('../dist/slipway-agent.mjs');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('slipway-agent.mjs')) {
    process.stderr.write('SLW_INTERNAL_ERROR: slipway-agent is not built yet; run npm run build\n');
    process.exit(1);
  }
  throw err;
}
