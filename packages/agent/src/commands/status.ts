import type { BootState } from '../bootloader/bootloader.js';
import type { AgentRuntime } from '../runtime/agent-runtime.js';
import type { UpdateRecord } from '../state/state-store.js';
import type { InstalledRelease } from '../trust/device-trust.js';

export interface AgentStatus {
  readonly state: UpdateRecord['state'];
  readonly job: UpdateRecord['job'];
  readonly error: string | null;
  readonly updatedAt: string;
  readonly installed: InstalledRelease | null;
  readonly trustRootVersion: number;
  readonly boot: BootState | null;
  readonly deviceType: string;
}

/** What `slipway-agent status` shows: the update under way, what is installed, the boot state. */
export async function agentStatus(runtime: AgentRuntime): Promise<AgentStatus> {
  const record = await runtime.store.load();
  return {
    state: record.state,
    job: record.job,
    error: record.error,
    updatedAt: record.updatedAt,
    installed: await runtime.trust.installed(),
    trustRootVersion: (await runtime.trust.root()).version,
    boot: runtime.bootloader ? await runtime.bootloader.read() : null,
    deviceType: runtime.config.device.deviceType,
  };
}

export function printStatus(s: AgentStatus): string {
  const lines = [
    `update:      ${s.state}${s.job ? ` (${s.job.deploymentId ? `deployment ${s.job.deploymentId}, attempt ${s.job.attempt}` : s.job.source})` : ''}`,
    ...(s.error ? [`last error:  ${s.error}`] : []),
    `installed:   ${s.installed ? `${s.installed.name} ${s.installed.version} (security version ${s.installed.securityVersion}, ${s.installed.installedAt})` : 'nothing recorded yet'}`,
    `device type: ${s.deviceType}`,
    `trust root:  version ${s.trustRootVersion}`,
    ...(s.boot
      ? [
          `boot:        slot ${s.boot.active}${s.boot.upgradeAvailable ? `, on trial (boot ${s.boot.bootcount} of ${s.boot.bootlimit})` : ', committed'}`,
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}
