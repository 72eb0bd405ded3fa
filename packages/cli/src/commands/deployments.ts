import { SlipwayError } from '@slipway/core';
import type { Command, CommandContext } from '../cli/command.js';
import type { Output } from '../cli/output.js';
import { callServer } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { flag, positional, requiredString, stringList, stringOption, wholeNumber } from '../cli/values.js';

interface Tally {
  total: number;
  pending: number;
  inProgress: number;
  succeeded: number;
  failed: number;
  aborted: number;
}

export interface Deployment {
  id: string;
  artifact: { name: string; version: string };
  target: string;
  status: string;
  statusReason: string | null;
  currentPhase: number;
  phaseCount: number;
  successThreshold: number;
  maxFailures: string;
  maxAttempts: number;
  window: string | null;
  approval: string;
  createdAt: string;
  finishedAt: string | null;
  devices: Tally;
  phases: {
    phase: number;
    spec: string;
    size: number;
    startAt: string | null;
    startedAt: string | null;
    completedAt: string | null;
    successesNeeded: number;
    failuresThatHalt: number;
    devices: Tally;
  }[];
  excluded?: { incompatible: number; notAccepted: number };
}

/** `--wait` exit codes: CI pipelines branch on them. */
export const WAIT_EXIT = { succeeded: 0, halted: 3, failed: 4, aborted: 5, timeout: 6 } as const;
const ID = { name: 'ID', description: 'the deployment id (the first 8 characters are enough)' };

const WAIT_OPTIONS = {
  timeout: { type: 'string', value: 'SECONDS', description: 'with --wait: give up waiting after this long (exit 6); default: no limit' },
  poll: { type: 'string', value: 'SECONDS', description: 'with --wait: how often to look (default 5)' },
} as const;

export const deploymentsCreate: Command = {
  path: ['deployments', 'create'],
  summary: 'Deploy an artifact to a group or to devices, in phases that advance or halt by themselves',
  options: {
    ...TARGET,
    artifact: { type: 'string', value: 'NAME@VERSION', required: true, description: 'the uploaded artifact to deploy' },
    group: { type: 'string', value: 'G', description: 'target a static or dynamic group' },
    device: { type: 'string', multiple: true, value: 'ID', description: 'target this device (repeatable); instead of --group' },
    phases: {
      type: 'string',
      value: 'LIST',
      description: 'cumulative phases, e.g. 5%,25%,100% or canary,100%; N%@2026-12-01T02:00:00Z starts a phase no earlier (default 100%)',
    },
    'success-threshold': {
      type: 'string',
      value: 'N%',
      description: 'share of a phase that must succeed before the next starts (default 95%)',
    },
    'max-failures': { type: 'string', value: 'N%|N', description: 'failures in a phase that halt the rollout (default 5%)' },
    'max-attempts': { type: 'string', value: 'N', description: 'attempts per device, retries included (1-10, default 1)' },
    window: {
      type: 'string',
      value: 'CRON/DURATION/TZ',
      description: 'maintenance window: devices install only inside it, e.g. "0 2 * * */4h/Europe/Berlin"',
    },
    'manual-approval': { type: 'boolean', description: 'a phase that reaches the threshold waits for `deployments advance`' },
    wait: { type: 'boolean', description: 'follow the rollout until it ends; exit 0 succeeded, 3 halted, 4 failed, 5 aborted' },
    ...WAIT_OPTIONS,
  },
  notes: [
    "Only accepted devices whose device_type is among the artifact's device types are targeted; the others are counted as excluded.",
    'Example: slipway deployments create --artifact gateway-os@2.1 --group production --phases 5%,25%,100% --success-threshold 95% --max-failures 2% --wait',
  ],
  async run(ctx) {
    const group = stringOption(ctx, 'group');
    const devices = stringList(ctx, 'device');
    if ((group === undefined) === (devices.length === 0))
      throw new SlipwayError('SLW_USAGE_MISSING_OPTION', 'give either --group G or --device ID (repeatable)');
    const phases = stringOption(ctx, 'phases');
    const attempts = stringOption(ctx, 'max-attempts');
    const body = {
      artifact: requiredString(ctx, 'artifact'),
      ...(group !== undefined ? { group } : { devices }),
      ...(phases !== undefined ? { phases: phases.split(',').map((p) => p.trim()) } : {}),
      ...optional('successThreshold', stringOption(ctx, 'success-threshold')),
      ...optional('maxFailures', stringOption(ctx, 'max-failures')),
      ...(attempts !== undefined ? { maxAttempts: wholeNumber(attempts, 'max-attempts', 1, 1, 10) } : {}),
      ...optional('window', stringOption(ctx, 'window')),
      ...(flag(ctx, 'manual-approval') ? { approval: 'manual' } : {}),
    };
    const server = await target(ctx);
    const created = (await callServer(server, 'POST', '/deployments', body)) as Deployment;
    ctx.out.note(
      `deployment ${created.id}: ${created.artifact.name}@${created.artifact.version} to ${created.devices.total} device(s)` +
        (created.excluded && created.excluded.incompatible + created.excluded.notAccepted > 0
          ? ` (left out: ${created.excluded.incompatible} of another or unknown device type, ${created.excluded.notAccepted} not accepted)`
          : ''),
    );
    if (!flag(ctx, 'wait')) {
      for (const line of describe(created)) ctx.out.line(line);
      ctx.out.data(created);
      return 0;
    }
    return follow(ctx, created.id);
  },
};

export const deploymentsWait: Command = {
  path: ['deployments', 'wait'],
  summary: 'Follow a deployment until it ends; exit 0 succeeded, 3 halted, 4 failed, 5 aborted, 6 timed out',
  positionals: [ID],
  options: { ...TARGET, ...WAIT_OPTIONS },
  async run(ctx) {
    return follow(ctx, positional(ctx, 0, 'ID'));
  },
};

export const deploymentsList: Command = {
  path: ['deployments', 'list'],
  summary: 'List deployments, newest first',
  options: {
    ...TARGET,
    status: { type: 'string', value: 'S', description: 'only active, paused, halted, aborted, succeeded or failed ones' },
    page: { type: 'string', value: 'N', description: 'page (default 1)' },
    'per-page': { type: 'string', value: 'N', description: 'deployments per page (default 50, at most 500)' },
  },
  async run(ctx) {
    const list = (await callServer(await target(ctx), 'GET', `/deployments?${pageQuery(ctx)}`)) as Deployment[];
    for (const d of list) {
      ctx.out.line(
        `${d.id.slice(0, 8)}  ${`${d.artifact.name}@${d.artifact.version}`.padEnd(28)} ${d.target.padEnd(20)} ${state(d).padEnd(22)} ${d.devices.succeeded}/${d.devices.total} ok, ${d.devices.failed} failed  ${d.createdAt}`,
      );
    }
    if (list.length === 0) ctx.out.line('no deployments');
    ctx.out.data(list);
    return 0;
  },
};

export const deploymentsShow: Command = {
  path: ['deployments', 'show'],
  summary: 'A deployment: its settings, every phase, and where its devices stand',
  positionals: [ID],
  options: TARGET,
  async run(ctx) {
    const d = (await callServer(await target(ctx), 'GET', `/deployments/${encodeURIComponent(positional(ctx, 0, 'ID'))}`)) as Deployment;
    for (const line of describe(d)) ctx.out.line(line);
    ctx.out.data(d);
    return 0;
  },
};

export const deploymentsDevices: Command = {
  path: ['deployments', 'devices'],
  summary: "The deployment's devices: phase, status, attempt, progress, last message",
  positionals: [ID],
  options: {
    ...TARGET,
    status: { type: 'string', value: 'S', description: 'only devices in this status (e.g. failure, downloading)' },
    phase: { type: 'string', value: 'N', description: 'only devices of this phase' },
    page: { type: 'string', value: 'N', description: 'page (default 1)' },
    'per-page': { type: 'string', value: 'N', description: 'devices per page (default 50, at most 500)' },
  },
  async run(ctx) {
    const query = pageQuery(ctx);
    const phase = stringOption(ctx, 'phase');
    if (phase) query.set('phase', String(wholeNumber(phase, 'phase', 1, 1, 20)));
    const id = encodeURIComponent(positional(ctx, 0, 'ID'));
    const result = (await callServer(await target(ctx), 'GET', `/deployments/${id}/devices?${query}`)) as {
      devices: { deviceId: string; phase: number; status: string; attempt: number; progress: number | null; message: string | null }[];
      total: number;
    };
    for (const d of result.devices)
      ctx.out.line(
        `${d.deviceId}  phase ${d.phase}  ${d.status.padEnd(17)} attempt ${d.attempt}${d.progress !== null ? `  ${d.progress}%` : ''}${d.message ? `  ${d.message}` : ''}`,
      );
    ctx.out.line(`${result.total} device(s)`);
    ctx.out.data(result);
    return 0;
  },
};

export const deploymentsLogs: Command = {
  path: ['deployments', 'logs'],
  summary: 'The logs a device uploaded for its failed attempts',
  positionals: [ID, { name: 'DEVICE', description: 'the device id' }],
  options: TARGET,
  async run(ctx) {
    const id = encodeURIComponent(positional(ctx, 0, 'ID'));
    const device = encodeURIComponent(positional(ctx, 1, 'DEVICE'));
    const logs = (await callServer(await target(ctx), 'GET', `/deployments/${id}/devices/${device}/logs`)) as {
      attempt: number;
      receivedAt: string;
      log: string;
    }[];
    for (const l of logs) ctx.out.line(`--- attempt ${l.attempt} (received ${l.receivedAt})\n${l.log.trimEnd()}`);
    if (logs.length === 0) ctx.out.line('no logs from this device');
    ctx.out.data(logs);
    return 0;
  },
};

function control(action: 'pause' | 'resume' | 'advance' | 'abort', summary: string): Command {
  return {
    path: ['deployments', action],
    summary,
    positionals: [ID],
    options: TARGET,
    async run(ctx) {
      const id = encodeURIComponent(positional(ctx, 0, 'ID'));
      const d = (await callServer(await target(ctx), 'POST', `/deployments/${id}/${action}`)) as Deployment;
      ctx.out.line(`${d.id.slice(0, 8)}  ${state(d)}`);
      ctx.out.data(d);
      return 0;
    },
  };
}

export const deploymentsPause = control('pause', 'Pause a rollout: no device starts it; devices already working on it finish');
export const deploymentsResume = control('resume', 'Resume a paused or halted rollout (failures seen so far no longer halt it)');
export const deploymentsAdvance = control('advance', 'Start the next phase now: approves a waiting phase, or overrides the thresholds');
export const deploymentsAbort = control('abort', 'Abort: devices not yet past installing are told to stop; the rest finish');

/** --status, --page and --per-page as the API's query string. */
function pageQuery(ctx: CommandContext): URLSearchParams {
  const query = new URLSearchParams();
  const status = stringOption(ctx, 'status');
  if (status) query.set('status', status);
  query.set('page', String(wholeNumber(stringOption(ctx, 'page'), 'page', 1, 1, 1_000_000)));
  query.set('perPage', String(wholeNumber(stringOption(ctx, 'per-page'), 'per-page', 50, 1, 500)));
  return query;
}

const optional = (key: string, value: string | undefined) => (value === undefined ? {} : { [key]: value });

function state(d: Deployment): string {
  if (d.status === 'active' && d.currentPhase === 0) return 'waiting for its start time';
  return ['active', 'paused', 'halted'].includes(d.status) ? `${d.status} (phase ${d.currentPhase}/${d.phaseCount})` : d.status;
}

/** The human view of a deployment, also the live view of --wait. */
export function describe(d: Deployment): string[] {
  const lines = [
    `${d.id}  ${d.artifact.name}@${d.artifact.version} -> ${d.target}`,
    `status ${state(d)}${d.statusReason ? ` — ${d.statusReason}` : ''}`,
    `success threshold ${d.successThreshold}%, halt at ${d.maxFailures} failures per phase, ${d.maxAttempts} attempt(s) per device, approval ${d.approval}${d.window ? `, window ${d.window}` : ''}`,
  ];
  for (const p of d.phases) {
    const t = p.devices;
    const when = p.completedAt ? 'done' : p.startedAt ? 'running' : p.startAt ? `starts ${p.startAt}` : 'waiting';
    lines.push(
      `phase ${p.phase} ${p.spec.padEnd(10)} ${bar(t, 20)} ${String(t.succeeded).padStart(5)}/${p.size} ok (${p.successesNeeded} needed)  ${t.failed} failed (halts at ${p.failuresThatHalt})  ${t.inProgress} working  ${t.pending} pending  ${when}`,
    );
  }
  lines.push(
    `devices: ${d.devices.succeeded} succeeded, ${d.devices.failed} failed, ${d.devices.inProgress} working, ${d.devices.pending} pending, ${d.devices.aborted} aborted of ${d.devices.total}`,
  );
  return lines;
}

function bar(t: Tally, width: number): string {
  if (t.total === 0) return `[${' '.repeat(width)}]`;
  const ok = Math.round((t.succeeded / t.total) * width);
  const bad = Math.min(width - ok, Math.round((t.failed / t.total) * width));
  return `[${'#'.repeat(ok)}${'x'.repeat(bad)}${'.'.repeat(width - ok - bad)}]`;
}

/** Polls the deployment until it ends: a redrawn view on a terminal, a line per change otherwise. */
async function follow(ctx: CommandContext, id: string): Promise<number> {
  const server = await target(ctx);
  const poll = wholeNumber(stringOption(ctx, 'poll'), 'poll', 5, 1, 3600) * 1000;
  const timeoutOption = stringOption(ctx, 'timeout');
  const deadline =
    timeoutOption === undefined
      ? Number.POSITIVE_INFINITY
      : Date.now() + wholeNumber(timeoutOption, 'timeout', 0, 1, 10 * 365 * 86_400) * 1000;
  const view = liveView(ctx.out);
  for (;;) {
    const d = (await callServer(server, 'GET', `/deployments/${encodeURIComponent(id)}`)) as Deployment;
    view.show(d);
    // Every status but active and paused ends the wait ('timeout' is never a status).
    const code = (WAIT_EXIT as Record<string, number>)[d.status];
    if (code !== undefined) return view.end(d, code);
    if (Date.now() + poll > deadline) {
      view.end(d, WAIT_EXIT.timeout);
      ctx.out.note(`stopped waiting after --timeout ${timeoutOption}s; the deployment goes on (${state(d)})`);
      return WAIT_EXIT.timeout;
    }
    await new Promise((resolve) => setTimeout(resolve, poll));
  }
}

function liveView(out: Output) {
  let drawn = 0;
  let last = '';
  return {
    show(d: Deployment) {
      if (out.stderrIsTty && !out.json) {
        const lines = describe(d);
        out.stderr.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
        drawn = lines.length;
        return;
      }
      const summary = `${state(d)}: ${d.devices.succeeded} succeeded, ${d.devices.failed} failed, ${d.devices.inProgress} working, ${d.devices.pending} pending`;
      if (summary !== last) out.note(`${new Date().toISOString()} ${summary}`);
      last = summary;
    },
    end(d: Deployment, code: number): number {
      out.line(`${d.id.slice(0, 8)} ${d.status}${d.statusReason ? `: ${d.statusReason}` : ''}`);
      out.data(d);
      return code;
    },
  };
}
