import { createHash } from 'node:crypto';
import { SlipwayError } from '@slipway/core';

/** One phase as asked: a cumulative percentage of the targets, or the targets in a group. */
export type PhaseSpec =
  | { readonly kind: 'percent'; readonly percent: number; readonly startAt: string | null }
  | { readonly kind: 'group'; readonly group: string; readonly startAt: string | null };

export type FailureLimit = { readonly count: number } | { readonly percent: number };

const invalid = (message: string) => new SlipwayError('SLW_DEPLOYMENT_INVALID', message);

/**
 * `5%`, `25%@2026-12-01T02:00:00Z`, `canary` or `group:canary`: percentages are cumulative (25 %
 * means "until a quarter of the targets have been offered the update"), a group takes the targets
 * that are its members and in no earlier phase. The last phase must be 100 % so no target is left out.
 */
export function parsePhases(specs: readonly string[]): PhaseSpec[] {
  if (specs.length === 0) return [{ kind: 'percent', percent: 100, startAt: null }];
  if (specs.length > 20) throw invalid('a deployment has at most 20 phases');
  let lastPercent = 0;
  const phases = specs.map((raw): PhaseSpec => {
    const at = raw.lastIndexOf('@');
    const body = (at >= 0 ? raw.slice(0, at) : raw).trim();
    const startAt = at >= 0 ? parseStartTime(raw.slice(at + 1).trim()) : null;
    const percent = /^(\d{1,3}(?:\.\d{1,2})?)%$/.exec(body);
    if (percent) {
      const value = Number(percent[1]);
      if (value <= 0 || value > 100) throw invalid(`phase ${raw}: a percentage is above 0 and at most 100`);
      if (value <= lastPercent) throw invalid(`phase ${raw}: percentages are cumulative, so each is above the one before`);
      lastPercent = value;
      return { kind: 'percent', percent: value, startAt };
    }
    const group = body.startsWith('group:') ? body.slice(6) : body;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(group)) throw invalid(`phase ${raw.slice(0, 80)} is neither N% nor a group name`);
    return { kind: 'group', group, startAt };
  });
  const last = phases.at(-1) as PhaseSpec;
  if (last.kind !== 'percent' || last.percent !== 100)
    throw invalid('the last phase must be 100% so that every target is included (e.g. --phases 5%,25%,100%)');
  return phases;
}

function parseStartTime(value: string): string {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms))
    throw invalid(`start time ${value.slice(0, 40)} is not an ISO-8601 date and time (2026-12-01T02:00:00Z)`);
  return new Date(ms).toISOString();
}

export function phaseSpecText(phase: PhaseSpec): string {
  const body = phase.kind === 'percent' ? `${phase.percent}%` : `group:${phase.group}`;
  return phase.startAt ? `${body}@${phase.startAt}` : body;
}

/** `95%` or `95`: the share of a phase that must succeed. */
export function parseSuccessThreshold(value: string | undefined): number {
  if (value === undefined) return 95;
  const match = /^(\d{1,3}(?:\.\d{1,2})?)%?$/.exec(value.trim());
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent > 0 && percent <= 100))
    throw invalid(`success threshold ${value.slice(0, 20)} is not a percentage above 0 and at most 100`);
  return percent;
}

/** `2%` (of the phase) or `3` (devices): failures in one phase that halt the rollout. */
export function parseFailureLimit(value: string | undefined): FailureLimit {
  if (value === undefined) return { percent: 5 };
  const trimmed = value.trim();
  const percent = /^(\d{1,3}(?:\.\d{1,2})?)%$/.exec(trimmed);
  if (percent) {
    const p = Number(percent[1]);
    if (p > 100) throw invalid(`failure limit ${trimmed} is above 100%`);
    return { percent: p };
  }
  if (/^\d{1,9}$/.test(trimmed)) return { count: Number(trimmed) };
  throw invalid(`failure limit ${trimmed.slice(0, 20)} is neither N% nor a device count`);
}

/**
 * How many failures in a phase of `size` devices halt the rollout: a count as given (0 halts at the
 * first failure too), a percentage rounded up, and never less than one failure.
 */
export function failuresThatHalt(limit: FailureLimit, size: number): number {
  if ('count' in limit) return Math.max(1, limit.count);
  return Math.max(1, Math.ceil((limit.percent * size) / 100 - 1e-9));
}

/** Successes a phase of `size` devices needs before the next phase may start. */
export function successesNeeded(thresholdPercent: number, size: number): number {
  return Math.max(0, Math.ceil((thresholdPercent * size) / 100 - 1e-9));
}

/**
 * The phase (1-based) of every target. Targets are ordered by a hash of deployment and device id,
 * so canaries are a fair sample that does not change if the plan is computed again. Group phases
 * take their members first; a percentage phase fills up to ceil(percent × targets) in all, so on
 * 7 devices 5 %/25 %/100 % gives 1, 1 and 5, and a phase that rounds to no device is empty.
 */
export function assignPhases(
  deploymentId: string,
  targets: readonly string[],
  phases: readonly PhaseSpec[],
  groupMembers: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, number> {
  const order = [...targets].sort((a, b) => rank(deploymentId, a).localeCompare(rank(deploymentId, b)) || a.localeCompare(b));
  const assigned = new Map<string, number>();
  phases.forEach((phase, index) => {
    const number = index + 1;
    if (phase.kind === 'group') {
      const members = groupMembers.get(phase.group) ?? new Set<string>();
      for (const id of order) if (!assigned.has(id) && members.has(id)) assigned.set(id, number);
      return;
    }
    const upTo = Math.ceil((phase.percent * order.length) / 100 - 1e-9);
    for (const id of order) {
      if (assigned.size >= upTo) break;
      if (!assigned.has(id)) assigned.set(id, number);
    }
  });
  return assigned;
}

function rank(deploymentId: string, deviceId: string): string {
  return createHash('sha256').update(`${deploymentId}\0${deviceId}`).digest('hex');
}
