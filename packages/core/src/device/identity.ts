import { SlipwayError } from '../errors/slipway-error.js';

/** A device identity: attribute name → value, e.g. `{ "serial": "GW-0001", "mac": "02:00:00:00:00:01" }`. */
export type DeviceIdentity = Readonly<Record<string, string>>;

export const IDENTITY_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
export const IDENTITY_MAX_ATTRIBUTES = 16;
export const IDENTITY_VALUE_MAX_LENGTH = 256;
// Printable ASCII without quotes or backslash: values land in SQL parameters, certificates and logs.
const IDENTITY_VALUE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Checks an identity and returns its canonical JSON (keys sorted), the form it is stored and
 * compared in: the same attributes always give the same bytes, whatever order a device sent.
 * `required` names the attributes this fleet identifies devices by; others are refused, so two
 * identities of one device cannot differ by a stray attribute.
 */
export function canonicalIdentity(identity: unknown, required: readonly string[]): string {
  if (typeof identity !== 'object' || identity === null || Array.isArray(identity)) {
    throw new SlipwayError('SLW_DEVICE_IDENTITY_INVALID', 'the identity must be an object of attribute names to values');
  }
  const entries = Object.entries(identity as Record<string, unknown>);
  if (entries.length > IDENTITY_MAX_ATTRIBUTES) {
    throw new SlipwayError('SLW_DEVICE_IDENTITY_INVALID', `an identity has at most ${IDENTITY_MAX_ATTRIBUTES} attributes`);
  }
  for (const [name, value] of entries) {
    if (!IDENTITY_NAME.test(name))
      throw new SlipwayError('SLW_DEVICE_IDENTITY_INVALID', `identity attribute name ${JSON.stringify(name.slice(0, 64))} is not allowed`);
    if (typeof value !== 'string' || value.length > IDENTITY_VALUE_MAX_LENGTH || !IDENTITY_VALUE.test(value)) {
      throw new SlipwayError(
        'SLW_DEVICE_IDENTITY_INVALID',
        `identity attribute ${name} must be 1-${IDENTITY_VALUE_MAX_LENGTH} printable ASCII characters`,
      );
    }
    if (!required.includes(name))
      throw new SlipwayError(
        'SLW_DEVICE_IDENTITY_INVALID',
        `identity attribute ${name} is not one this fleet uses (${required.join(', ')})`,
      );
  }
  for (const name of required) {
    if (!Object.hasOwn(identity, name)) throw new SlipwayError('SLW_DEVICE_IDENTITY_INVALID', `identity attribute ${name} is missing`);
  }
  const sorted = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted);
}

/** The SAN URI prefix that carries a device identity in a manufacturing certificate. */
export const IDENTITY_URI_PREFIX = 'urn:slipway:identity?';

/** The SAN URI naming an identity in a device certificate: `urn:slipway:identity?serial=GW-0001`. */
export function identityUri(identity: DeviceIdentity): string {
  return IDENTITY_URI_PREFIX + new URLSearchParams(Object.entries(identity).sort()).toString();
}
