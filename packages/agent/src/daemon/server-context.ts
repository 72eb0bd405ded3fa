import { type ChunkSource, FileChunkSource, SlipwayError } from '@slipway/core';
import { runHooks } from '../hooks/hook-runner.js';
import { DEFAULT_MAX_LOG_BYTES } from '../logs/deployment-log.js';
import type { AgentRuntime } from '../runtime/agent-runtime.js';
import { backoffMs, sleep } from '../runtime/sleep.js';
import type { UpdateRecord } from '../state/state-store.js';
import { ResumableDownload } from '../transport/resumable-download.js';
import type { UpdateContext, UpdateOutcome } from '../update/update-effects.js';
import type { JobLog } from './job-log.js';

export interface ContextOptions {
  /** Stops waits when the agent is asked to stop. */
  readonly signal?: AbortSignal;
  /** Standalone: no server is told anything and none is needed for the health gate. */
  readonly standalone?: boolean;
  /** PEM of the CA for an https:// source of a standalone install (default: the server CA). */
  readonly sourceCa?: string;
}

const line = (err: unknown) => (err instanceof SlipwayError ? err.toLine() : err instanceof Error ? err.message : String(err));

/**
 * The update's effects as the daemon (and the standalone commands) run them: downloads from the
 * server's link with the device token, status reports that an abort from the server stops, the
 * health gate (server reachable again, sanity hooks pass), the final report with the log.
 */
export function updateContext(runtime: AgentRuntime, jobLog: JobLog, options: ContextOptions = {}): UpdateContext {
  const { config } = runtime;
  const client = options.standalone ? null : runtime.client;
  const log = jobLog.line;

  /** Retries a server call that failed for a passing reason until it works or the agent stops. */
  const persist = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    for (let failures = 1; ; failures++) {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof SlipwayError && err.retryable) || options.signal?.aborted) throw err;
        const wait = backoffMs(failures, 1000, config.polling.retryMaxMs);
        log(`${what} failed (${line(err)}); trying again in ${Math.round(wait / 1000)} s`);
        await sleep(wait, options.signal);
      }
    }
  };

  const openSource = async (record: UpdateRecord): Promise<ChunkSource> => {
    const job = record.job as NonNullable<UpdateRecord['job']>;
    if (!job.deploymentId && !/^https:\/\//.test(job.source)) return FileChunkSource.open(job.source);
    let url = job.source;
    let size: number | undefined;
    let tls: { ca: string; clientCertificate?: { cert: string; key: string } };
    if (job.deploymentId && client) {
      // A link lives an hour; a download resumed after a reboot asks for a fresh one, and learns
      // on the way whether the deployment is still meant for this device.
      const offer = await client.nextDeployment();
      if (!offer || offer.id !== job.deploymentId)
        throw new SlipwayError('SLW_DEPLOYMENT_ABORTED', 'the server no longer offers this deployment to this device');
      url = new URL(offer.download.url, config.server?.url).toString();
      size = offer.artifact.size;
      tls = { ...client.tls };
    } else {
      if (!options.sourceCa) throw new SlipwayError('SLW_CONFIG_INVALID', 'an https:// source needs a CA (--ca FILE or server.caFile)');
      tls = { ca: options.sourceCa };
    }
    const abort = new AbortController();
    options.signal?.addEventListener('abort', () => abort.abort(), { once: true });
    let reported = 0;
    return new ResumableDownload({
      url,
      ...tls,
      headers: () => (job.deploymentId && client ? client.authorization() : {}),
      ...(size !== undefined ? { expectedSize: size } : {}),
      maxResumes: config.download.maxResumes,
      minBytesPerSecond: config.download.minBytesPerSecond,
      stallWindowMs: config.download.stallMs,
      ...(config.download.timeoutMs > 0 ? { totalTimeoutMs: config.download.timeoutMs } : {}),
      signal: abort.signal,
      onProgress: (received, total) => {
        const percent = Math.floor((100 * received) / Math.max(1, total));
        if (!job.deploymentId || !client || percent < reported + 10) return;
        reported = percent;
        // Progress is a courtesy; the one answer that matters is that the deployment was aborted.
        client.reportStatus(job.deploymentId, job.attempt, 'downloading', { progress: Math.min(100, percent) }).catch((err: unknown) => {
          if (err instanceof SlipwayError && err.code === 'SLW_DEPLOYMENT_ABORTED') abort.abort();
        });
      },
    });
  };

  const healthCheck = async (): Promise<{ healthy: boolean; why?: string }> => {
    if (client && config.healthGate.requireServer) {
      const deadline = Date.now() + config.healthGate.serverTimeoutMs;
      for (let failures = 1; ; failures++) {
        try {
          await client.authenticate();
          await client.checkIn();
          log('health gate: the server is reachable and accepts this device');
          break;
        } catch (err) {
          if (Date.now() >= deadline || options.signal?.aborted)
            return { healthy: false, why: `the server could not be reached from the new software: ${line(err)}` };
          await sleep(Math.min(backoffMs(failures, 500, 15_000), Math.max(0, deadline - Date.now())), options.signal);
        }
      }
    }
    if (config.hooks.sanityDir) {
      const result = await runHooks(config.hooks.sanityDir, { timeoutMs: config.hooks.timeoutMs, log });
      if (!result.ok) return { healthy: false, why: `sanity hook ${result.failed.hook} failed: ${result.failed.how}` };
      log(`health gate: ${result.ran.length} sanity hook(s) passed`);
    }
    return { healthy: true };
  };

  const report = async (record: UpdateRecord, outcome: UpdateOutcome, acknowledged?: () => Promise<void>): Promise<void> => {
    log(`outcome: ${outcome}${record.error ? ` (${record.error})` : ''}`);
    const job = record.job;
    if (!job?.deploymentId || !client) return;
    const deploymentLog = jobLog.follow(job);
    if (deploymentLog && (outcome === 'failure' || outcome === 'rolled-back')) {
      await jobLog.flushed();
      const text = (await deploymentLog.read()).slice(-(DEFAULT_MAX_LOG_BYTES - 1024));
      await persist('uploading the deployment log', () => client.uploadLog(job.deploymentId as string, job.attempt, text || '(empty)'));
    }
    await persist(`reporting ${outcome}`, () =>
      client.reportStatus(job.deploymentId as string, job.attempt, outcome, record.error ? { message: record.error.slice(0, 1024) } : {}),
    );
    // Persisted before the log goes, so a restart from here on does not upload what would be left of it.
    await acknowledged?.();
    // The server has it: the device keeps no copy of what it no longer needs.
    await jobLog.flushed();
    await deploymentLog?.delete();
    jobLog.follow(null);
  };

  const forget = async (record: UpdateRecord): Promise<void> => {
    // Lines written since the restart would otherwise go up as the attempt's log with the waiting logs.
    const deploymentLog = jobLog.follow(record.job);
    await jobLog.flushed();
    await deploymentLog?.delete();
    jobLog.follow(null);
  };

  const progress = async (record: UpdateRecord, status: 'downloading' | 'installing' | 'rebooting' | 'committing'): Promise<void> => {
    const job = record.job;
    log(`state: ${status}`);
    if (!job?.deploymentId || !client) return;
    for (let failures = 1; ; failures++) {
      try {
        await client.reportStatus(job.deploymentId, job.attempt, status);
        return;
      } catch (err) {
        if (!(err instanceof SlipwayError)) throw err;
        if (err.code === 'SLW_DEPLOYMENT_ABORTED' && (status === 'downloading' || status === 'installing')) throw err;
        if (err.code !== 'SLW_DEPLOYMENT_WINDOW_CLOSED') {
          log(`could not report ${status} (${line(err)}); going on`);
          return;
        }
        // Outside the maintenance window the device holds the verified download and waits.
        const wait = backoffMs(failures, 15_000, Math.max(15_000, config.polling.retryMaxMs));
        log(`${err.message}; asking again in ${Math.round(wait / 1000)} s`);
        await sleep(wait, options.signal);
        if (options.signal?.aborted) throw new SlipwayError('SLW_DOWNLOAD_ABORTED', 'the agent is stopping');
      }
    }
  };

  return {
    trust: runtime.trust,
    deviceType: config.device.deviceType,
    now: () => new Date(),
    installerFor: runtime.installerFor,
    openSource,
    bootId: runtime.bootId,
    reboot: runtime.reboot,
    healthCheck,
    progress,
    report,
    forget,
    log,
  };
}
