import type { Command } from '../cli/command.js';
import { callServer } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { stringOption, wholeNumber } from '../cli/values.js';

export const reportsVersions: Command = {
  path: ['reports', 'versions'],
  summary: 'What the fleet runs: accepted devices by device type and installed artifact version',
  options: TARGET,
  notes: ['Versions come from the artifact_name and artifact_version each device reports in its inventory.'],
  async run(ctx) {
    const report = (await callServer(await target(ctx), 'GET', '/reports/versions')) as {
      deviceType: string | null;
      devices: number;
      versions: { artifact: string | null; version: string | null; devices: number; percent: number }[];
    }[];
    for (const type of report) {
      ctx.out.line(`${type.deviceType ?? '(type not reported)'}: ${type.devices} device(s)`);
      for (const v of type.versions)
        ctx.out.line(
          `  ${(v.artifact ? `${v.artifact}@${v.version ?? '?'}` : '(not reported)').padEnd(36)} ${String(v.devices).padStart(7)}  ${v.percent}%`,
        );
    }
    ctx.out.data(report);
    return 0;
  },
};

export const reportsDeployments: Command = {
  path: ['reports', 'deployments'],
  summary: 'Success and failure rates per deployment and per phase, newest first',
  options: { ...TARGET, limit: { type: 'string', value: 'N', description: 'how many deployments (default 50, at most 500)' } },
  async run(ctx) {
    const limit = wholeNumber(stringOption(ctx, 'limit'), 'limit', 50, 1, 500);
    const report = (await callServer(await target(ctx), 'GET', `/reports/deployments?limit=${limit}`)) as {
      id: string;
      artifact: string;
      status: string;
      devices: { total: number; succeeded: number; failed: number };
      successRate: number | null;
      phases: { phase: number; spec: string; size: number; succeeded: number; failed: number; successRate: number | null }[];
    }[];
    const rate = (r: number | null) => (r === null ? '—' : `${r}%`);
    for (const d of report) {
      ctx.out.line(
        `${d.id.slice(0, 8)}  ${d.artifact.padEnd(28)} ${d.status.padEnd(10)} ${d.devices.succeeded}/${d.devices.total} ok, ${d.devices.failed} failed, success rate ${rate(d.successRate)}`,
      );
      for (const p of d.phases)
        ctx.out.line(
          `    phase ${p.phase} ${p.spec.padEnd(10)} ${p.succeeded}/${p.size} ok, ${p.failed} failed, success rate ${rate(p.successRate)}`,
        );
    }
    ctx.out.data(report);
    return 0;
  },
};

export const reportsSilent: Command = {
  path: ['reports', 'silent'],
  summary: 'Accepted devices that have not called the server for N hours',
  options: { ...TARGET, hours: { type: 'string', value: 'N', description: 'hours of silence (default 24)' } },
  async run(ctx) {
    const hours = wholeNumber(stringOption(ctx, 'hours'), 'hours', 24, 1, 24 * 3650);
    const report = (await callServer(await target(ctx), 'GET', `/reports/silent-devices?hours=${hours}`)) as {
      total: number;
      since: string;
      devices: { id: string; identity: Record<string, string>; deviceType: string | null; lastSeenAt: string | null }[];
    };
    for (const d of report.devices)
      ctx.out.line(`${d.id}  ${JSON.stringify(d.identity)}  ${d.deviceType ?? '-'}  last seen ${d.lastSeenAt ?? 'never'}`);
    ctx.out.line(
      `${report.total} accepted device(s) silent since ${report.since}${report.total > report.devices.length ? ` (first ${report.devices.length} listed)` : ''}`,
    );
    ctx.out.data(report);
    return 0;
  },
};
