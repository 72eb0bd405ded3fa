import { SlipwayError } from '@slipway/core';
import type { MqttClient } from '@slipway/mqtt';
import { DeploymentLog } from '../logs/deployment-log.js';
import type { AgentRuntime } from '../runtime/agent-runtime.js';
import { backoffMs, jittered, sleep } from '../runtime/sleep.js';
import type { UpdateJob } from '../state/state-store.js';
import { UpdateMachine } from '../state/update-machine.js';
import type { DeploymentOffer, DeviceClient } from '../transport/device-client.js';
import { startWakeupListener } from '../transport/wakeup-listener.js';
import { withStateScripts } from '../update/state-scripts.js';
import { updateEffects } from '../update/update-effects.js';
import { AGENT_VERSION } from '../version.js';
import { collectInventory } from './inventory.js';
import { JobLog } from './job-log.js';
import { updateContext } from './server-context.js';

export interface DaemonOptions {
  /** One round (resume, inventory, one poll and the update it brings), then return. */
  readonly once?: boolean;
  readonly signal?: AbortSignal;
}

const line = (err: unknown) => (err instanceof SlipwayError ? err.toLine() : err instanceof Error ? err.message : String(err));

/** Wake-ups closer together than this are ignored. */
const MIN_WAKE_GAP_MS = 5000;

/** Codes after which asking again soon cannot help: the device waits a whole interval. */
const WAIT_AN_INTERVAL = new Set(['SLW_DEVICE_REJECTED', 'SLW_DEVICE_IDENTITY_INVALID', 'SLW_DEVICE_KEY_REFUSED']);

/** Builds the update state machine over the runtime, with state scripts when the config names a directory. */
export function updateMachine(
  runtime: AgentRuntime,
  jobLog: JobLog,
  options: { signal?: AbortSignal; standalone?: boolean; sourceCa?: string },
) {
  const ctx = updateContext(runtime, jobLog, options);
  const effects = updateEffects(ctx);
  const { stateScriptsDir, timeoutMs } = runtime.config.hooks;
  return new UpdateMachine(
    runtime.store,
    stateScriptsDir ? withStateScripts(effects, { dir: stateScriptsDir, timeoutMs, log: jobLog.line }) : effects,
    {
      // Transient trouble (a download that broke off, a reboot that has not happened) waits longer each time.
      backoff: (n) => sleep(backoffMs(n, 5000, runtime.config.polling.retryMaxMs), options.signal),
      onTransition: (from, event, to, error) => jobLog.line(`${from} --${event}--> ${to}${error ? `: ${error}` : ''}`),
    },
  );
}

/**
 * The agent as a service: finish (or roll back) whatever update a restart interrupted, tell the
 * server what the device is, follow trust-root rotations, upload logs still waiting, then poll
 * for deployments at the configured interval with jitter, backing off exponentially on errors.
 */
export class AgentDaemon {
  private readonly client: DeviceClient;
  private readonly jobLog: JobLog;
  private inventoryDue = 0;
  /** MQTT wake-ups, once the device knows its id (config.mqtt); null until then or without it. */
  private wakeups: MqttClient | null = null;
  /** Aborted by a wake-up: ends the wait for the next round early. */
  private wake = new AbortController();
  private lastWakeAt = 0;

  constructor(
    private readonly runtime: AgentRuntime,
    private readonly options: DaemonOptions = {},
  ) {
    if (!runtime.client) throw new SlipwayError('SLW_CONFIG_INVALID', `${runtime.config.file} names no server: the daemon needs one`);
    this.client = runtime.client;
    this.jobLog = new JobLog(runtime.config.stateDir, runtime.config.logs.keyFile, runtime.log);
  }

  async run(): Promise<void> {
    const { config } = this.runtime;
    const signal = this.options.signal;
    const machine = updateMachine(this.runtime, this.jobLog, signal ? { signal } : {});
    await this.resume(machine);
    for (let failures = 0; !signal?.aborted; ) {
      let wait = jittered(config.polling.intervalMs, config.polling.jitter);
      try {
        await this.round(machine);
        failures = 0;
      } catch (err) {
        failures++;
        const retryAfter = err instanceof SlipwayError ? Number(err.details?.retryAfterSeconds) : Number.NaN;
        if (err instanceof SlipwayError && WAIT_AN_INTERVAL.has(err.code)) {
          this.runtime.log(`${line(err)}; asking again in ${Math.round(wait / 1000)} s`);
        } else {
          wait = Number.isFinite(retryAfter)
            ? Math.min(config.polling.intervalMs, retryAfter * 1000)
            : jittered(backoffMs(failures, 1000, config.polling.retryMaxMs), config.polling.jitter);
          this.runtime.log(`${line(err)}; trying again in ${Math.round(wait / 1000)} s`);
        }
      }
      if (this.options.once) break;
      await this.listenForWakeups();
      await sleep(wait, signal ? AbortSignal.any([signal, this.wake.signal]) : this.wake.signal);
      if (this.wake.signal.aborted) this.wake = new AbortController();
    }
    await this.wakeups?.stop();
  }

  /** Starts the MQTT subscription once the server told the device its id (best effort: polling goes on). */
  private async listenForWakeups(): Promise<void> {
    const deviceId = this.client.deviceId;
    if (this.wakeups || !deviceId || !this.runtime.config.mqtt) return;
    try {
      this.wakeups = await startWakeupListener(this.runtime.config, deviceId, () => this.wakeUp(), this.runtime.log);
    } catch (err) {
      // Tried again after the next round; the device polls meanwhile.
      this.runtime.log(`MQTT wake-ups not started: ${line(err)}`);
    }
  }

  /**
   * A wake-up: poll now, unless one already did within MIN_WAKE_GAP_MS (a flood of forged
   * wake-ups must not turn the agent into a busy loop against the server).
   */
  private wakeUp(): void {
    const now = Date.now();
    if (now - this.lastWakeAt < MIN_WAKE_GAP_MS) return;
    this.lastWakeAt = now;
    this.runtime.log('woken up over MQTT: asking for a deployment now');
    this.wake.abort();
  }

  /** An update interrupted by a kill, a power cut or its own reboot goes on where it stopped. */
  private async resume(machine: UpdateMachine): Promise<void> {
    const record = await this.runtime.store.load();
    if (record.state === 'idle') return;
    this.jobLog.follow(record.job);
    this.runtime.log(`resuming the update in state ${record.state}`);
    await machine.run();
    this.inventoryDue = 0;
  }

  private async round(machine: UpdateMachine): Promise<void> {
    await this.client.authorization();
    if (Date.now() >= this.inventoryDue) {
      await this.sendInventory();
      this.inventoryDue = Date.now() + this.runtime.config.polling.inventoryIntervalMs;
    }
    await this.followRotations();
    await this.uploadWaitingLogs();
    const offer = await this.client.nextDeployment();
    if (!offer) return;
    this.runtime.log(`deployment ${offer.id} (attempt ${offer.attempt}): ${offer.artifact.name} ${offer.artifact.version}`);
    const job = jobFor(offer);
    this.jobLog.follow(job);
    await machine.begin(job);
    await machine.run();
    // The installed version changed (or not): the server's reports read it from the inventory.
    await this.sendInventory();
  }

  private async sendInventory(): Promise<void> {
    const installed = await this.runtime.trust.installed();
    const root = await this.runtime.trust.root();
    const slot = this.runtime.bootloader ? (await this.runtime.bootloader.read()).active : undefined;
    const attributes = await collectInventory(
      {
        deviceType: this.runtime.config.device.deviceType,
        installed,
        trustRootVersion: root.version,
        agentVersion: AGENT_VERSION,
        ...(slot ? { activeSlot: slot } : {}),
      },
      this.runtime.config.inventory.scriptsDir,
      this.runtime.log,
    );
    await this.client.reportInventory(attributes);
  }

  private async followRotations(): Promise<void> {
    const before = (await this.runtime.trust.root()).version;
    try {
      const after = await this.runtime.trust.followRotations((version) => this.client.rootDocument(version), new Date());
      if (after.version !== before) this.runtime.log(`trust root rotated from version ${before} to ${after.version}`);
    } catch (err) {
      // The old root stays trusted; a broken chain is the server's problem to fix, not a reason to stop.
      this.runtime.log(`trust root rotation not followed: ${line(err)}`);
    }
  }

  /** Logs whose upload did not finish before (the agent gave up, or restarted): sent, then deleted. */
  private async uploadWaitingLogs(): Promise<void> {
    const current = (await this.runtime.store.load()).job;
    for (const stored of await DeploymentLog.list(this.jobLog.dir)) {
      if (current && stored.deploymentId === current.deploymentId && stored.attempt === current.attempt) continue;
      const log = new DeploymentLog(this.jobLog.dir, stored.deploymentId, stored.attempt, this.jobLog.keys);
      try {
        await this.client.uploadLog(stored.deploymentId, stored.attempt, (await log.read()) || '(empty)');
        await log.delete();
      } catch (err) {
        if (err instanceof SlipwayError && (err.code === 'SLW_LOG_CORRUPT' || err.code === 'SLW_DEPLOYMENT_NOT_FOUND')) {
          this.runtime.log(`deleting deployment log ${stored.path}: ${line(err)}`);
          await log.delete();
        } else throw err;
      } finally {
        await log.close();
      }
    }
  }
}

function jobFor(offer: DeploymentOffer): UpdateJob {
  return {
    deploymentId: offer.id,
    attempt: offer.attempt,
    source: offer.download.url,
    artifact: {
      name: offer.artifact.name,
      version: offer.artifact.version,
      sha256: offer.artifact.sha256,
      securityVersion: offer.artifact.securityVersion,
      payloadType: offer.artifact.payloadType,
    },
  };
}
