import type { ReportRepository } from '../repositories/report.repository.js';
import type { DeploymentService } from './deployment.service.js';
import type { DeploymentView } from './deployment-view.js';

export interface VersionReport {
  readonly deviceType: string | null;
  readonly devices: number;
  readonly versions: readonly {
    readonly artifact: string | null;
    readonly version: string | null;
    readonly devices: number;
    readonly percent: number;
  }[];
}

export interface DeploymentRateReport {
  readonly id: string;
  readonly artifact: string;
  readonly status: string;
  readonly createdAt: string;
  readonly devices: DeploymentView['devices'];
  readonly successRate: number | null;
  readonly phases: readonly {
    readonly phase: number;
    readonly spec: string;
    readonly size: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly successRate: number | null;
  }[];
}

export const MAX_SILENT_LISTED = 1000;

/** Fleet reports: what runs where, how deployments went, who has gone quiet. */
export class ReportService {
  constructor(
    private readonly reports: ReportRepository,
    private readonly deployments: DeploymentService,
    private readonly now: () => Date,
  ) {}

  async versions(): Promise<VersionReport[]> {
    const byType = new Map<
      string | null,
      { devices: number; versions: { artifact: string | null; version: string | null; devices: number }[] }
    >();
    for (const row of await this.reports.versions()) {
      const entry = byType.get(row.deviceType) ?? { devices: 0, versions: [] };
      entry.devices += row.devices;
      entry.versions.push({ artifact: row.artifactName, version: row.artifactVersion, devices: row.devices });
      byType.set(row.deviceType, entry);
    }
    return [...byType]
      .sort(([a], [b]) => (a ?? '\u{10ffff}').localeCompare(b ?? '\u{10ffff}'))
      .map(([deviceType, { devices, versions }]) => ({
        deviceType,
        devices,
        versions: versions
          .sort((a, b) => b.devices - a.devices || `${a.artifact}@${a.version}`.localeCompare(`${b.artifact}@${b.version}`))
          .map((v) => ({ ...v, percent: percent(v.devices, devices) })),
      }));
  }

  async deploymentRates(limit: number): Promise<DeploymentRateReport[]> {
    return (await this.deployments.list(undefined, 1, limit)).map((d) => {
      const finished = d.devices.succeeded + d.devices.failed;
      return {
        id: d.id,
        artifact: `${d.artifact.name}@${d.artifact.version}`,
        status: d.status,
        createdAt: d.createdAt,
        devices: d.devices,
        successRate: finished === 0 ? null : percent(d.devices.succeeded, finished),
        phases: d.phases.map((p) => ({
          phase: p.phase,
          spec: p.spec,
          size: p.size,
          succeeded: p.devices.succeeded,
          failed: p.devices.failed,
          successRate: p.successRate,
        })),
      };
    });
  }

  async silentDevices(hours: number) {
    const since = new Date(this.now().getTime() - hours * 3600_000).toISOString();
    const { devices, total } = await this.reports.silentSince(since, MAX_SILENT_LISTED);
    return {
      hours,
      since,
      total,
      devices: devices.map((d) => ({
        id: d.id,
        identity: JSON.parse(d.identity) as Record<string, string>,
        deviceType: d.deviceType,
        lastSeenAt: d.lastSeenAt,
      })),
    };
  }
}

const percent = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100);
