#!/usr/bin/env node
// A committed launcher, so `npm ci` can link the `slipway` bin before the first build.
// The real program is the single-file bundle that `npm run build` writes.
try {
  await import('../dist/slipway.mjs');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('slipway.mjs')) {
    process.stderr.write('SLW_INTERNAL_ERROR: slipway is not built yet; run npm run build\n');
    process.exit(1);
  }
  throw err;
}
