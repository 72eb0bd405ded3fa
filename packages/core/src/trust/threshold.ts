import type { PublicKeyInfo } from '../crypto/keys.js';
import { type Signature, verifyPayloadSignature } from '../crypto/signature.js';

export interface Role {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

/**
 * Returns the distinct keys of `role` that validly signed PAE(payloadType, body).
 * A key that signed twice counts once; signatures by keys outside the role count for nothing
 * (TUF 5.3.4: "threshold of signatures from distinct keys listed for the role").
 */
export function validSigners(
  keys: ReadonlyMap<string, PublicKeyInfo>,
  role: Role,
  payloadType: string,
  body: Uint8Array,
  signatures: readonly Signature[],
): Set<string> {
  const allowed = new Set(role.keyIds);
  const valid = new Set<string>();
  for (const signature of signatures) {
    if (!allowed.has(signature.keyid) || valid.has(signature.keyid)) continue;
    const key = keys.get(signature.keyid);
    if (key && verifyPayloadSignature(key, payloadType, body, signature)) valid.add(signature.keyid);
  }
  return valid;
}
