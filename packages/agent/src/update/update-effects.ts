import { type ArtifactReader, type ChunkSource, SlipwayError } from '@slipway/core';
import type { Installer, InstallerMemory } from '../installers/installer.js';
import type { UpdateRecord } from '../state/state-store.js';
import type { Effect, EffectResult, WorkingState } from '../state/update-machine.js';
import type { DeviceTrust } from '../trust/device-trust.js';

/** What the device tells the server at the end of an update. */
export type UpdateOutcome = 'success' | 'already-installed' | 'failure' | 'rolled-back';

/** Everything the update's effects need from the outside world; the daemon and `install` fill it differently. */
export interface UpdateContext {
  readonly trust: DeviceTrust;
  readonly deviceType: string;
  readonly now: () => Date;
  /** The installer for a payload type (`rootfs`, `directory`, `module:NAME`); SLW_INSTALLER_UNSUPPORTED otherwise. */
  installerFor(payloadType: string): Installer;
  /** The artifact bytes of the job: a resumable download or a local file. */
  openSource(record: UpdateRecord): Promise<ChunkSource>;
  /** Identifies this boot (`/proc/sys/kernel/random/boot_id`): a new one means a reboot happened. */
  bootId(): Promise<string>;
  /** Asks the system to reboot (`systemctl reboot` by default); a real reboot never returns in time. */
  reboot(): Promise<void>;
  /** After a trial boot: reach the server again and run the integrator's sanity hooks. */
  healthCheck(): Promise<{ readonly healthy: boolean; readonly why?: string }>;
  /**
   * Tells the server a step is starting (best effort; nothing in standalone mode). It throws
   * SLW_DEPLOYMENT_ABORTED when the server aborted the deployment, and waits while the install
   * window is closed.
   */
  progress?(record: UpdateRecord, status: 'downloading' | 'installing' | 'rebooting' | 'committing'): Promise<void>;
  /**
   * Tells the server the outcome (and uploads the log); nothing in standalone mode. `acknowledged`
   * is awaited once the server has both, before the device deletes its copy of the log.
   */
  report(record: UpdateRecord, outcome: UpdateOutcome, acknowledged?: () => Promise<void>): Promise<void>;
  /** After a restart past an acknowledged report: drops what the device wrote for the report since (its log lines). */
  forget?(record: UpdateRecord): Promise<void>;
  readonly log?: (line: string) => void;
}

const memo = (record: UpdateRecord, extra: InstallerMemory): InstallerMemory => ({ ...record.installer, ...extra });
const payloadTypeOf = (record: UpdateRecord): string =>
  String(record.installer.payloadType ?? record.job?.artifact.payloadType ?? 'rootfs');

/**
 * The effect of each working state of the update (see state/transitions.ts). Each is safe to run
 * again after a kill: storing rewrites the inactive copy, switching and reverting set the same
 * bootloader state, and a reboot is recognised by a new boot id recorded before it was asked for.
 */
export function updateEffects(ctx: UpdateContext): Record<WorkingState, Effect> {
  const rebooting =
    (towardsNew: boolean): Effect =>
    async (record, remember) => {
      const id = await ctx.bootId();
      if (record.rebootRequestedIn !== null && record.rebootRequestedIn !== id) {
        return { event: 'booted', rebootRequestedIn: null, installer: memo(record, { newIsRunning: towardsNew }) };
      }
      if (towardsNew) await ctx.progress?.(record, 'rebooting');
      // Recorded before the reboot is asked for: after it, a different boot id proves it happened.
      await remember({ rebootRequestedIn: id });
      ctx.log?.(`rebooting ${towardsNew ? 'into the new software' : 'back into the previous software'}`);
      await ctx.reboot();
      throw new SlipwayError('SLW_AGENT_REBOOT_PENDING', 'the reboot was requested and has not happened yet');
    };

  const report =
    (fallback: UpdateOutcome): Effect =>
    async (record, remember) => {
      // Killed after the server acknowledged (and the log was deleted): reporting again would replace
      // the server's whole log of the attempt with the few lines written since the restart.
      if (record.installer.reported === true) {
        await ctx.forget?.(record);
        return { event: 'reported' };
      }
      const outcome = (record.installer.outcome as UpdateOutcome | undefined) ?? fallback;
      await ctx.report(record, outcome, () => remember({ installer: memo(record, { reported: true }) }));
      return { event: 'reported' };
    };

  return {
    async downloading(record): Promise<EffectResult> {
      const job = record.job;
      if (!job) throw new SlipwayError('SLW_AGENT_STATE_INVALID', 'an update without a job');
      const installed = await ctx.trust.installed();
      if (installed && installed.name === job.artifact.name && installed.version === job.artifact.version) {
        return { event: 'alreadyInstalled', installer: memo(record, { outcome: 'already-installed' }) };
      }
      let reader: ArtifactReader;
      let stored: InstallerMemory;
      try {
        await ctx.progress?.(record, 'downloading');
        reader = await ctx.trust.openVerified(
          await ctx.openSource(record),
          { deviceType: ctx.deviceType, now: ctx.now() },
          job.deploymentId !== null ? job.artifact : undefined,
        );
        // A local file or URL names its release only inside: the same check, once the manifest is verified.
        if (installed && installed.name === reader.manifest.name && installed.version === reader.manifest.version) {
          await reader.close();
          return { event: 'alreadyInstalled', installer: memo(record, { outcome: 'already-installed' }) };
        }
        stored = await ctx.installerFor(reader.manifest.payloadType).store(reader);
      } catch (err) {
        // Nothing was switched yet: an aborted deployment is simply dropped, without a report.
        if (err instanceof SlipwayError && (err.code === 'SLW_DEPLOYMENT_ABORTED' || err.code === 'SLW_DOWNLOAD_ABORTED')) {
          ctx.log?.(`the deployment was aborted: ${err.message}`);
          return { event: 'aborted', error: err.toLine() };
        }
        throw err;
      }
      const payloadType = reader.manifest.payloadType;
      ctx.log?.(`${reader.manifest.name} ${reader.manifest.version} verified and stored`);
      return {
        event: 'downloaded',
        installer: {
          ...stored,
          payloadType,
          name: reader.manifest.name,
          version: reader.manifest.version,
          securityVersion: reader.manifest.securityVersion,
        },
      };
    },
    async installing(record) {
      await ctx.progress?.(record, 'installing');
      const next = await ctx.installerFor(payloadTypeOf(record)).install(record.installer);
      return { event: next, installer: memo(record, { switched: true, newIsRunning: next === 'installed' }) };
    },
    rebooting: rebooting(true),
    async verifying(record) {
      const installer = ctx.installerFor(payloadTypeOf(record));
      if (!(await installer.runsNew(record.installer))) {
        ctx.log?.('the bootloader did not keep the new software: it fell back by itself');
        return { event: 'fellBack', installer: memo(record, { outcome: 'rolled-back', newIsRunning: false }) };
      }
      const health = await ctx.healthCheck();
      if (!health.healthy) return { event: 'unhealthy', error: health.why ?? 'the health check failed' };
      return { event: 'healthy' };
    },
    async committing(record) {
      await ctx.progress?.(record, 'committing');
      await ctx.installerFor(payloadTypeOf(record)).commit(record.installer);
      await ctx.trust.recordInstalled({
        name: String(record.installer.name),
        version: String(record.installer.version),
        securityVersion: Number(record.installer.securityVersion ?? 0),
        installedAt: ctx.now().toISOString(),
      });
      return { event: 'committed', installer: memo(record, { outcome: 'success' }) };
    },
    async rollingBack(record) {
      // Stopped by hand after a reboot the state never saw (`slipway-agent rollback`): the boot id tells.
      const rebootedSince = record.rebootRequestedIn !== null && record.rebootRequestedIn !== (await ctx.bootId());
      const newIsRunning = record.installer.newIsRunning === true || (record.installer.switched === true && rebootedSince);
      const next = await ctx.installerFor(payloadTypeOf(record)).rollback(record.installer, newIsRunning);
      // Cleared: the reboot back must be recognised by a boot id recorded from now on, not the old one.
      return { event: next, rebootRequestedIn: null, installer: memo(record, { outcome: 'rolled-back' }) };
    },
    rollbackRebooting: rebooting(false),
    reportingSuccess: report('success'),
    reportingFailure: report('failure'),
  };
}
