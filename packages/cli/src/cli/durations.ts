import { SlipwayError, timestampToMs } from '@slipway/core';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** `365d`, `12h`, `2y` from now, or an absolute RFC 3339 UTC time such as 2027-06-30T00:00:00Z. */
export function parseExpiry(value: string, now: Date, flag: string): Date {
  const relative = /^(\d{1,6})([smhdwy])$/.exec(value);
  if (relative) {
    const [, amount, unit] = relative;
    return new Date(now.getTime() + Number(amount) * (UNIT_SECONDS[unit as string] as number) * 1000);
  }
  const absolute = timestampToMs(value);
  if (!Number.isNaN(absolute) && /Z$/.test(value)) return new Date(absolute);
  throw new SlipwayError(
    'SLW_USAGE_INVALID_OPTION',
    `${flag} ${value}: use a duration like 365d, 12h, 2y or a UTC time like 2027-06-30T00:00:00Z`,
  );
}

export function parseCount(value: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `${flag} ${value}: expected a whole number from ${min} to ${max}`);
  }
  return Number(value);
}
