import { type ParsedRoot, parseRoot, type RootCheckOptions, type TrustedRoot, verifyRoot } from '@slipway/core';
import { readInputFile } from './key-files.js';
import { shortId } from './values.js';

export async function loadRoot(path: string): Promise<ParsedRoot> {
  return parseRoot(await readInputFile(path));
}

/** Loads a root as a trust anchor: its own root threshold met and not expired. */
export async function loadTrustedRoot(path: string, options: RootCheckOptions): Promise<TrustedRoot> {
  return verifyRoot(await loadRoot(path), options);
}

export function describeRoot(root: ParsedRoot): Record<string, unknown> {
  const role = (name: 'root' | 'release') => ({
    threshold: root.roles[name].threshold,
    keys: root.roles[name].keyIds.map((id) => ({ keyId: id, scheme: root.keys.get(id)?.scheme })),
  });
  return { version: root.version, expires: root.body.expires, roles: { root: role('root'), release: role('release') } };
}

export function rootLines(root: ParsedRoot): string[] {
  const lines = [`version ${root.version}, expires ${root.body.expires}`];
  for (const name of ['root', 'release'] as const) {
    const r = root.roles[name];
    lines.push(`${name} keys (threshold ${r.threshold} of ${r.keyIds.length}):`);
    for (const id of r.keyIds) lines.push(`  ${shortId(id)}  ${root.keys.get(id)?.scheme ?? ''}`);
  }
  return lines;
}
