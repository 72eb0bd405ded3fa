import { SlipwayError } from '@slipway/core';
import type { CommandContext } from './command.js';

/** Typed access to parsed option values, with coded errors for what parseArgs cannot express. */
export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(ctx: CommandContext, name: string): string {
  const value = stringOption(ctx, name);
  if (value === undefined || value === '') throw new SlipwayError('SLW_USAGE_MISSING_OPTION', `--${name} is required`);
  return value;
}

export function stringList(ctx: CommandContext, name: string): string[] {
  const value = ctx.values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function flag(ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true;
}

export function positional(ctx: CommandContext, index: number, name: string): string {
  const value = ctx.positionals[index];
  if (value === undefined) throw new SlipwayError('SLW_USAGE_MISSING_OPTION', `missing ${name}`);
  return value;
}

export function shortId(keyId: string): string {
  return keyId.slice(0, 16);
}

/** A whole number option within bounds (`fallback` when absent), or SLW_USAGE_INVALID_OPTION. */
export function wholeNumber(value: string | undefined, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--${option} ${value}: use a whole number from ${min} to ${max}`);
  return n;
}
