// Loads the compiled binding, or exports null when it was not built (see scripts/build.mjs).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function load() {
  try {
    return require('./build/Release/slipway_libdeflate.node');
  } catch {
    return null;
  }
}

export const libdeflate = load();
