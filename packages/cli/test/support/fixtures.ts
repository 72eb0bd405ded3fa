// Fixtures made with the CLI itself, at run time, in a scratch directory: key pairs, signed
// roots, payloads and artifacts. No key material is committed.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { assertOk, parseJson, type Scratch, slipway } from './run.js';

export const DAY_MS = 86_400_000;

export interface KeyFiles {
  /** PREFIX.key, the private key (0600). */
  readonly key: string;
  /** PREFIX.pub, the public key. */
  readonly pub: string;
  readonly keyId: string;
}

export async function generateKey(s: Scratch, name: string, type = 'ed25519'): Promise<KeyFiles> {
  const prefix = s.path(name);
  const args = ['key', 'generate', '--type', type, '--out', prefix, '--json'];
  const result = await slipway(args);
  assertOk(result, args);
  const { keyId } = parseJson<{ keyId: string }>(result);
  return { key: `${prefix}.key`, pub: `${prefix}.pub`, keyId };
}

export interface RootSpec {
  readonly rootKeys: readonly KeyFiles[];
  readonly releaseKeys: readonly KeyFiles[];
  /** Keys that sign the root; all root keys when omitted. */
  readonly signedBy?: readonly KeyFiles[];
  readonly extraArgs?: readonly string[];
  readonly now?: Date;
}

/** trust init + trust sign; returns the root's path. */
export async function makeRoot(s: Scratch, name: string, spec: RootSpec): Promise<string> {
  const out = s.path(name);
  const init = [
    'trust',
    'init',
    ...spec.rootKeys.flatMap((k) => ['--root-key', k.pub]),
    ...spec.releaseKeys.flatMap((k) => ['--release-key', k.pub]),
    ...(spec.extraArgs ?? []),
    '--out',
    out,
  ];
  const now = spec.now ? { now: spec.now } : {};
  assertOk(await slipway(init, now), init);
  for (const key of spec.signedBy ?? spec.rootKeys) {
    const sign = ['trust', 'sign', out, '--key', key.key];
    assertOk(await slipway(sign, now), sign);
  }
  return out;
}

export async function writePayload(s: Scratch, name: string, bytes: Uint8Array = randomBytes(4096)): Promise<string> {
  const path = s.path(name);
  await writeFile(path, bytes);
  return path;
}

export interface ArtifactSpec {
  readonly payloads: readonly string[];
  readonly name?: string;
  readonly version?: string;
  readonly deviceTypes?: readonly string[];
  readonly extraArgs?: readonly string[];
  readonly now?: Date;
}

/** artifact create (unsigned unless extraArgs has --key); returns the artifact's path. */
export async function makeArtifact(s: Scratch, file: string, spec: ArtifactSpec): Promise<string> {
  const out = s.path(file);
  const args = [
    'artifact',
    'create',
    '--name',
    spec.name ?? 'gateway-os',
    '--version',
    spec.version ?? '1.0.0',
    ...(spec.deviceTypes ?? ['gw-100']).flatMap((t) => ['--device-type', t]),
    ...spec.payloads.flatMap((p) => ['--payload', p]),
    ...(spec.extraArgs ?? []),
    '--out',
    out,
  ];
  assertOk(await slipway(args, spec.now ? { now: spec.now } : {}), args);
  return out;
}

/** Flips every bit of one byte of a file in memory and writes it back. */
export function flipByte(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = (copy[offset] ?? 0) ^ 0xff;
  return copy;
}
