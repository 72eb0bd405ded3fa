/**
 * DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
 * Every Slipway signature covers PAE(payloadType, exactBytes), so a signature made for an
 * artifact manifest can never be replayed as a signature over a trust root (domain separation).
 */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${body.length} `, 'utf8');
  return Buffer.concat([head, body]);
}

export const PAYLOAD_TYPE_MANIFEST = 'application/vnd.slipway.manifest+json';
export const PAYLOAD_TYPE_ROOT = 'application/vnd.slipway.root+json';
export type SlipwayPayloadType = typeof PAYLOAD_TYPE_MANIFEST | typeof PAYLOAD_TYPE_ROOT;
