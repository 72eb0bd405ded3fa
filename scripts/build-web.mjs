#!/usr/bin/env node
// Builds the web UI (packages/web) into packages/web/dist/ui, and replaces that directory only
// when the build changed something: `npm start` rebuilds while tests run servers that read the UI
// at start, and a server must never find it half-written or missing.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const web = 'packages/web';
const target = join(web, 'dist/ui');
const fresh = join(web, `dist/ui.building-${process.pid}`);

function files(dir) {
  const found = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.set(relative(dir, path), readFileSync(path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found;
}

function same(a, b) {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) if (!b.get(name)?.equals(bytes)) return false;
  return true;
}

try {
  execFileSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', web, '--outDir', `dist/${fresh.split('/').pop()}`, '--logLevel', 'warn'],
    {
      stdio: 'inherit',
    },
  );
  if (same(files(fresh), files(target))) {
    rmSync(fresh, { recursive: true, force: true });
  } else {
    const old = `${target}.old-${process.pid}`;
    if (existsSync(target)) renameSync(target, old);
    renameSync(fresh, target);
    rmSync(old, { recursive: true, force: true });
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
