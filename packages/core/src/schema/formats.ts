import { Type } from '@sinclair/typebox';

/** RFC 3339 UTC timestamps with a Z suffix, e.g. 2026-11-24T12:00:00Z (no local offsets). */
export const Timestamp = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$', maxLength: 30 });
export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const KeyId = Sha256Hex;
export const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 4096 });
export const SafeInteger = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** Returns the time a Timestamp denotes, or NaN if the calendar date does not exist. */
export function timestampToMs(value: string): number {
  const ms = Date.parse(value);
  // Date.parse rolls 2026-02-31 over to March; round-tripping catches impossible dates.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== value.slice(0, 19)) return Number.NaN;
  return ms;
}

/** A Timestamp for an instant, to whole seconds (no sub-second noise in signed files). */
export function toTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
