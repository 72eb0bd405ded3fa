import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ErrorCode } from '../errors/error-codes.js';
import { SlipwayError } from '../errors/slipway-error.js';

/**
 * Checks an untrusted value against a TypeBox schema and names the first problem with its JSON
 * pointer, so a user learns which field is wrong rather than "invalid".
 */
export function validateSchema<T extends TSchema>(schema: T, value: unknown, code: ErrorCode, what: string): Static<T> {
  if (Value.Check(schema, value)) return value;
  const first = Value.Errors(schema, value).First();
  const where = first?.path ? first.path : '/';
  throw new SlipwayError(code, `${what} is invalid at ${where}: ${first?.message ?? 'does not match the schema'}`);
}

/** Parses JSON from untrusted bytes, mapping syntax errors to a coded error. */
export function parseJson(bytes: Uint8Array | string, code: ErrorCode, what: string): unknown {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new SlipwayError(code, `${what} is not valid JSON`);
  }
}
