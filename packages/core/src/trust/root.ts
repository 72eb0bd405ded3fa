import { type Static, Type } from '@sinclair/typebox';
import type { PublicKeyInfo } from '../crypto/keys.js';
import { parsePublicKey } from '../crypto/keys.js';
import { PAYLOAD_TYPE_ROOT } from '../crypto/pae.js';
import { SlipwayError } from '../errors/slipway-error.js';
import { KeyId, Timestamp, timestampToMs } from '../schema/formats.js';
import { parseJson, validateSchema } from '../schema/validate.js';
import { type Envelope, MAX_SIGNATURES, parseEnvelope } from './envelope.js';
import type { Role } from './threshold.js';

export const MAX_ROOT_BYTES = 512 * 1024;
export const MAX_ROOT_KEYS = 64;
export const ROOT_SPEC_VERSION = 1;

const KeySchema = Type.Object(
  {
    scheme: Type.Union([Type.Literal('ed25519'), Type.Literal('ecdsa-p256-sha256'), Type.Literal('rsa-pss-sha256')]),
    publicKey: Type.String({ maxLength: 4096 }),
  },
  { additionalProperties: false },
);
const RoleSchema = Type.Object(
  {
    keyids: Type.Array(KeyId, { minItems: 1, maxItems: MAX_ROOT_KEYS, uniqueItems: true }),
    threshold: Type.Integer({ minimum: 1, maximum: MAX_SIGNATURES }),
  },
  { additionalProperties: false },
);
export const RootBodySchema = Type.Object(
  {
    type: Type.Literal('slipway-root'),
    specVersion: Type.Literal(ROOT_SPEC_VERSION),
    version: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    expires: Timestamp,
    // additionalProperties: a TypeBox Record only constrains names matching its key pattern; without
    // it, any other name (with any value, even null) would slip past the schema.
    keys: Type.Record(Type.String({ pattern: '^[0-9a-f]{64}$' }), KeySchema, { maxProperties: MAX_ROOT_KEYS, additionalProperties: false }),
    roles: Type.Object({ root: RoleSchema, release: RoleSchema }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type RootBody = Static<typeof RootBodySchema>;

/** A root whose structure and keys are valid; its signatures are not yet checked. */
export interface ParsedRoot {
  readonly envelope: Envelope;
  readonly body: RootBody;
  readonly version: number;
  readonly expiresMs: number;
  readonly keys: ReadonlyMap<string, PublicKeyInfo>;
  readonly roles: { readonly root: Role; readonly release: Role };
}

/** Parses root.json bytes; every key passes the key policy and matches its listed ID. */
export function parseRoot(bytes: Uint8Array): ParsedRoot {
  if (bytes.length > MAX_ROOT_BYTES) {
    throw new SlipwayError('SLW_TRUST_ROOT_TOO_LARGE', `root is ${bytes.length} bytes; the limit is ${MAX_ROOT_BYTES}`);
  }
  const envelope = parseEnvelope(bytes, PAYLOAD_TYPE_ROOT, 'SLW_TRUST_ROOT_MALFORMED', 'root');
  const json = parseJson(envelope.payload, 'SLW_TRUST_ROOT_MALFORMED', 'signed root body');
  const body = validateSchema(RootBodySchema, json, 'SLW_TRUST_ROOT_MALFORMED', 'root');
  return describeRoot(envelope, body);
}

function describeRoot(envelope: Envelope, body: RootBody): ParsedRoot {
  const expiresMs = timestampToMs(body.expires);
  if (Number.isNaN(expiresMs)) throw new SlipwayError('SLW_TRUST_ROOT_MALFORMED', `root expiry ${body.expires} is not a real date`);
  const keys = new Map<string, PublicKeyInfo>();
  for (const [keyId, entry] of Object.entries(body.keys)) {
    const key = parsePublicKey(entry.publicKey, `root key ${keyId.slice(0, 12)}`);
    if (key.keyId !== keyId) {
      throw new SlipwayError(
        'SLW_KEY_ID_MISMATCH',
        `root lists key ${keyId.slice(0, 12)}… but its public key has ID ${key.keyId.slice(0, 12)}…`,
      );
    }
    if (key.scheme !== entry.scheme) {
      throw new SlipwayError(
        'SLW_TRUST_ROOT_MALFORMED',
        `root key ${keyId.slice(0, 12)}… is a ${key.scheme} key, listed as ${entry.scheme}`,
      );
    }
    keys.set(keyId, key);
  }
  const roles = { root: toRole(body.roles.root, keys, 'root'), release: toRole(body.roles.release, keys, 'release') };
  const overlap = roles.root.keyIds.filter((id) => roles.release.keyIds.includes(id));
  if (overlap.length > 0) {
    throw new SlipwayError('SLW_TRUST_KEY_ROLE_OVERLAP', `key ${overlap[0]?.slice(0, 12)}… is both a root key and a release key`);
  }
  return { envelope, body, version: body.version, expiresMs, keys, roles };
}

function toRole(raw: RootBody['roles']['root'], keys: ReadonlyMap<string, PublicKeyInfo>, name: string): Role {
  for (const id of raw.keyids) {
    if (!keys.has(id))
      throw new SlipwayError('SLW_TRUST_ROOT_MALFORMED', `${name} role names key ${id.slice(0, 12)}…, which the root does not list`);
  }
  if (raw.threshold > raw.keyids.length) {
    throw new SlipwayError(
      'SLW_TRUST_THRESHOLD_INVALID',
      `${name} threshold ${raw.threshold} exceeds its ${raw.keyids.length} key(s); no set of signatures could ever meet it`,
    );
  }
  return { keyIds: raw.keyids, threshold: raw.threshold };
}

export interface RootSpec {
  readonly version: number;
  readonly expires: string;
  readonly rootKeys: readonly PublicKeyInfo[];
  readonly releaseKeys: readonly PublicKeyInfo[];
  readonly rootThreshold: number;
  readonly releaseThreshold: number;
}

/** Builds an unsigned root; it is validated exactly as a parsed one would be. */
export function buildRoot(spec: RootSpec): ParsedRoot {
  const keys: RootBody['keys'] = {};
  for (const key of [...spec.rootKeys, ...spec.releaseKeys]) keys[key.keyId] = { scheme: key.scheme, publicKey: key.pem };
  const unique = (list: readonly PublicKeyInfo[]) => [...new Set(list.map((k) => k.keyId))];
  const body: RootBody = {
    type: 'slipway-root',
    specVersion: ROOT_SPEC_VERSION,
    version: spec.version,
    expires: spec.expires,
    keys,
    roles: {
      root: { keyids: unique(spec.rootKeys), threshold: spec.rootThreshold },
      release: { keyids: unique(spec.releaseKeys), threshold: spec.releaseThreshold },
    },
  };
  const checked = validateSchema(RootBodySchema, body, 'SLW_TRUST_ROOT_MALFORMED', 'root');
  const payload = Buffer.from(`${JSON.stringify(checked, null, 2)}\n`, 'utf8');
  return describeRoot({ payloadType: PAYLOAD_TYPE_ROOT, payload, signatures: [] }, checked);
}
