import { type Static, Type } from '@sinclair/typebox';
import { SlipwayError } from '../errors/slipway-error.js';
import { SafeInteger, Sha256Hex, Timestamp, timestampToMs } from '../schema/formats.js';
import { parseJson, validateSchema } from '../schema/validate.js';

export const MANIFEST_FORMAT_VERSION = 1;
export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Payload names become tar names `payload/<name>`: no slashes, no leading dot, short. */
export const PAYLOAD_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,91}$';
export const ARTIFACT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$';
export const VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$';
export const DEVICE_TYPE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
export const PAYLOAD_TYPE_PATTERN = '^(rootfs|directory|module:[a-z0-9][a-z0-9._-]{0,63})$';
export const MAX_PAYLOADS = 64;
export const MAX_DEVICE_TYPES = 64;

export const PayloadInfoSchema = Type.Object(
  {
    name: Type.String({ pattern: PAYLOAD_NAME_PATTERN }),
    compression: Type.Union(COMPRESSIONS.map((c) => Type.Literal(c))),
    /** Bytes stored in the artifact (after compression). */
    size: SafeInteger,
    /** Bytes the device writes (before compression). */
    uncompressedSize: SafeInteger,
    /**
     * SHA-256 of the uncompressed bytes: what ends up on the device. The only payload hash: the
     * stored bytes are bounded by `size` and judged by what they decode to, so a device hashes
     * each byte once (and can re-check a written slot, or resume, from the content alone).
     */
    sha256: Sha256Hex,
  },
  { additionalProperties: false },
);
export type PayloadInfo = Static<typeof PayloadInfoSchema>;

export const ManifestSchema = Type.Object(
  {
    type: Type.Literal('slipway-artifact'),
    formatVersion: Type.Literal(MANIFEST_FORMAT_VERSION),
    name: Type.String({ pattern: ARTIFACT_NAME_PATTERN }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    securityVersion: SafeInteger,
    deviceTypes: Type.Array(Type.String({ pattern: DEVICE_TYPE_PATTERN }), { minItems: 1, maxItems: MAX_DEVICE_TYPES, uniqueItems: true }),
    payloadType: Type.String({ pattern: PAYLOAD_TYPE_PATTERN }),
    payloads: Type.Array(PayloadInfoSchema, { minItems: 1, maxItems: MAX_PAYLOADS }),
    createdAt: Timestamp,
    expiresAt: Type.Optional(Timestamp),
    // A Record only checks names that match its pattern; additionalProperties makes the limit bite.
    metadata: Type.Optional(
      Type.Record(Type.String({ pattern: '^[^\\x00-\\x1f]{1,128}$' }), Type.Unknown(), { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof ManifestSchema>;

function invalid(why: string): SlipwayError {
  return new SlipwayError('SLW_ARTIFACT_MANIFEST_INVALID', `manifest: ${why}`);
}

/** Checks the rules a schema cannot express. */
export function assertManifestConsistent(manifest: Manifest): void {
  const names = new Set<string>();
  for (const p of manifest.payloads) {
    if (names.has(p.name)) throw new SlipwayError('SLW_ARTIFACT_DUPLICATE_ENTRY', `manifest lists payload ${p.name} twice`);
    names.add(p.name);
    if (p.compression === 'none' && p.size !== p.uncompressedSize) {
      throw invalid(`payload ${p.name} is uncompressed but its stored and uncompressed sizes differ`);
    }
  }
  if (Number.isNaN(timestampToMs(manifest.createdAt))) throw invalid(`createdAt ${manifest.createdAt} is not a real date`);
  if (manifest.expiresAt !== undefined && Number.isNaN(timestampToMs(manifest.expiresAt))) {
    throw invalid(`expiresAt ${manifest.expiresAt} is not a real date`);
  }
}

export function parseManifest(bytes: Uint8Array): Manifest {
  const json = parseJson(bytes, 'SLW_ARTIFACT_MANIFEST_INVALID', 'manifest');
  const manifest = validateSchema(ManifestSchema, json, 'SLW_ARTIFACT_MANIFEST_INVALID', 'manifest');
  assertManifestConsistent(manifest);
  return manifest;
}

export function payloadEntryName(payloadName: string): string {
  return `payload/${payloadName}`;
}
