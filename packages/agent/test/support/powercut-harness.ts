// The power-cut proof (issue 6): real agent processes (the bundled slipway-agent) against a real
// server on loopback, slots as files, U-Boot's redundant environment written by the real
// fw_setenv, and the power pulled (SIGKILL to the agent and everything it started) at random
// instants of real updates. After every run the device must boot a signed image, the agent must
// agree with what it boots, and the server must have been told the truth.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Signer } from '@slipway/core';
import { sha256Of } from '@slipway/testkit';
import { type AgentDevice, agentDevice, eventually, rootfsArtifact, sha256 } from './agent-device.js';
import { signedRoot, signer } from './trust.js';
import { UpdateServer } from './update-server.js';

export interface PowercutOptions {
  readonly runs: number;
  /** Seeds every choice (scenario, number of kills, where each is aimed); random when absent, and reported. */
  readonly seed?: number;
  /** Failures as they happen, with the agent's last output. */
  readonly log?: (line: string) => void;
  /** Devices updating at once, each in its own run (default 4). */
  readonly concurrency?: number;
  /** Goes on past `runs` until this many kills were made. */
  readonly minKills?: number;
  /** Only this run (1-based): reproduces a failure reported with the same seed. */
  readonly only?: number;
  /** After each run, with the totals so far. */
  readonly onRun?: (result: PowercutResult) => void;
  /** One line per run: scenario, where each kill was aimed and landed, outcome, duration. */
  readonly trace?: (line: string) => void;
}

export interface PowercutResult {
  seed: number;
  runs: number;
  kills: number;
  /** Runs after which the device would not boot a signed image that comes up (or did not boot at all). */
  bricked: number;
  /** Runs after which the agent, the boot environment and the server do not tell the same story. */
  inconsistent: number;
  /** Kills by the state the agent had persisted (state/update.json) at the instant of the cut. */
  killsByState: Record<string, number>;
  /** The same kills, finer: how far the state's effect had got (slot written, env switched, tool running …). */
  killsByPhase: Record<string, number>;
  /** Scenario and what the server was told, e.g. `good: success`. */
  outcomes: Record<string, number>;
  /** Kills not made: aimed at a state the run did not reach, or at an instant after the update ended. */
  missedKills: number;
  failures: string[];
  durationMs: number;
}

type Scenario = 'good' | 'unbootable' | 'unhealthy';
const SCENARIOS: readonly Scenario[] = ['good', 'unbootable', 'unhealthy'];

/** The states an unkilled run of each scenario passes through: where a kill can be aimed. */
const PATHS: Readonly<Record<Scenario, readonly string[]>> = {
  good: ['downloading', 'installing', 'rebooting', 'verifying', 'committing', 'reportingSuccess'],
  // The trial slot never comes up: the bootloader gives up on it and the agent finds itself on the old slot.
  unbootable: ['downloading', 'installing', 'rebooting', 'verifying', 'reportingFailure'],
  unhealthy: ['downloading', 'installing', 'rebooting', 'verifying', 'rollingBack', 'rollbackRebooting', 'reportingFailure'],
};

/** The states whose effect writes the bootloader environment (one fw_setenv each): trial, commit, revert. */
const ENV_WRITERS = new Set(['installing', 'committing', 'rollingBack']);
/** Share of kills aimed at an instant of the run rather than at a state. */
const TIME_KILLS = 0.4;
const FINAL = new Set(['success', 'failure', 'rolled-back', 'already-installed', 'aborted']);
const DEVICE_TYPE = 'gw-powercut';
const MiB = 1024 * 1024;
const SETTLE_TIMEOUT_MS = 90_000;

/** mulberry32: small, fast and good enough to make a run reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each run draws from its own stream, so a run makes the same choices whatever ran before or beside it. */
const runSeed = (seed: number, run: number) => Math.floor(prng((seed ^ Math.imul(run, 0x9e3779b9)) >>> 0)() * 2 ** 32);

/** A histogram, one name a line, most first. */
export function formatHistogram(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const width = Math.max(0, ...entries.map(([name]) => name.length));
  const most = Math.max(1, ...entries.map(([, n]) => n));
  return entries
    .map(([name, n]) => `  ${name.padEnd(width)} ${String(n).padStart(5)} ${'='.repeat(Math.ceil((40 * n) / most))}`)
    .join('\n');
}

export function summaryLine(result: PowercutResult): string {
  return `${result.runs} runs, ${result.bricked} bricked, ${result.inconsistent} inconsistent`;
}

interface Release {
  readonly ref: string;
  readonly version: string;
  readonly image: Buffer;
  readonly bootable: boolean;
}

/** An unkilled run of a scenario, from the deployment: when each state was entered and how long it lasted. */
interface Calibration {
  readonly totalMs: number;
  readonly enteredMs: Readonly<Record<string, number>>;
  readonly durationMs: Readonly<Record<string, number>>;
}

/**
 * One kill as the seed decides it. `time`: at fraction `u` of what is left of the run from where
 * the agent (re)started. `state`: in the state at fraction `u` of the states still ahead, at
 * fraction `v` of its measured duration, or (an environment-writing state, `v` < 0.5) while its
 * fw_setenv runs.
 */
interface KillDraw {
  readonly kind: 'time' | 'state';
  readonly u: number;
  readonly v: number;
}

interface Kill {
  /** Where it was aimed, e.g. `verifying + 40 ms`. */
  readonly aim: string;
  /** The state the agent had persisted at the cut. */
  readonly state: string;
  readonly phase: string;
  readonly afterMs: number;
}

interface Verdict {
  readonly verdict: 'ok' | 'bricked' | 'inconsistent';
  readonly why: readonly string[];
  readonly outcome: string;
}

interface RunReport extends Verdict {
  readonly run: number;
  readonly scenario: Scenario;
  readonly kills: readonly Kill[];
  readonly missed: number;
  readonly durationMs: number;
}

/**
 * Runs `runs` updates (more, until `minKills` kills), each on a fresh preauthorized device against
 * one server, with one to four power cuts, and checks every device once it has settled.
 *
 * Where the kills land: first one unkilled run of each scenario is measured. Then a time kill
 * falls uniformly over what is left of that measured run from where the agent (re)started (a kill
 * undoes work or skips a reboot, so instants fixed in advance would mostly find the update over),
 * and a state kill falls in a state still ahead, uniformly over that state's measured duration,
 * or while its fw_setenv runs, so the short states (the bootloader switch, the commit, the
 * revert) are hit as well as the long ones.
 */
export async function runPowercut(options: PowercutOptions): Promise<PowercutResult> {
  const started = Date.now();
  const seed = (options.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-powercut-'));
  const server = await UpdateServer.start(dir);
  try {
    const harness = await Harness.create(dir, server, seed, options);
    await harness.calibrate();
    return { ...(await harness.runAll()), durationMs: Date.now() - started };
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

class Harness {
  private readonly calibration = {} as Record<Scenario, Calibration>;
  private readonly images: Map<string, Release>;
  private readonly log: (line: string) => void;
  private serials = 0;
  private readonly result: PowercutResult;

  private constructor(
    private readonly dir: string,
    private readonly server: UpdateServer,
    private readonly seed: number,
    private readonly options: PowercutOptions,
    private readonly golden: Buffer,
    private readonly factory: Release,
    private readonly releases: Readonly<Record<Scenario, Release>>,
  ) {
    this.images = new Map([factory, ...Object.values(releases)].map((r) => [sha256(r.image), r]));
    this.log = options.log ?? (() => {});
    this.result = {
      seed,
      runs: 0,
      kills: 0,
      bricked: 0,
      inconsistent: 0,
      killsByState: {},
      killsByPhase: {},
      outcomes: {},
      missedKills: 0,
      failures: [],
      durationMs: 0,
    };
  }

  /** The server's trust root and releases: the factory image, a good release, one that never boots, one whose app fails. */
  static async create(dir: string, server: UpdateServer, seed: number, options: PowercutOptions): Promise<Harness> {
    const [rootKey, releaseKey] = [signer(), signer()];
    const golden = await signedRoot(1, [rootKey], [releaseKey], [rootKey]);
    await server.uploadRoot(golden);
    const release = (version: string, image: Buffer, bootable: boolean) => upload(dir, server, releaseKey, version, image, bootable);
    // The factory image is a signed release too: every slot a device boots must hold one.
    const factory = await release('1.0', randomBytes(2 * MiB), true);
    // 8–16 MiB, stored uncompressed: long enough to stream and write that kills land in them.
    const releases = {
      good: await release('2.0', randomBytes(12 * MiB + 4099), true),
      unbootable: await release('2.1-unbootable', randomBytes(10 * MiB + 77), false),
      unhealthy: await release('2.2-unhealthy', randomBytes(14 * MiB + 513), true),
    };
    return new Harness(dir, server, seed, options, golden, factory, releases);
  }

  /** One unkilled run of each scenario, side by side as the runs will go. */
  async calibrate(): Promise<void> {
    await Promise.all(
      SCENARIOS.map(async (scenario) => {
        const { device, watch, id, deployment, deployedAt } = await this.deployTo(scenario);
        try {
          const verdict = await this.judge(scenario, device, watch, deployment, id);
          if (verdict.verdict !== 'ok') throw new Error(`the unkilled ${scenario} run failed: ${verdict.why.join('; ')}`);
          const calibration = measure(watch.timeline(deployedAt));
          this.calibration[scenario] = calibration;
          const states = Object.entries(calibration.durationMs).map(([state, ms]) => `${state} ${Math.round(ms)}`);
          this.log(`calibrated ${scenario}: ${Math.round(calibration.totalMs)} ms (${states.join(', ')})`);
        } finally {
          await device.sim.stop();
          await rm(device.dir, { recursive: true, force: true });
        }
      }),
    );
  }

  async runAll(): Promise<PowercutResult> {
    const { only, runs, minKills = 0 } = this.options;
    let next = only ?? 1;
    const wanted = () => (only !== undefined ? next <= only : next <= runs || this.result.kills < minKills);
    await Promise.all(
      Array.from({ length: Math.max(1, this.options.concurrency ?? 4) }, async () => {
        while (wanted()) this.record(await this.run(next++));
      }),
    );
    return this.result;
  }

  private async run(run: number): Promise<RunReport> {
    const random = prng(runSeed(this.seed, run));
    const scenario = SCENARIOS[Math.floor(random() * SCENARIOS.length)] as Scenario;
    // In order along the run: an early aim after a late one would find the update over.
    const draws = Array.from({ length: 1 + Math.floor(random() * 4) }, (): KillDraw => {
      const [kind, u, v] = [random(), random(), random()];
      return { kind: kind < TIME_KILLS ? 'time' : 'state', u, v };
    }).sort((a, b) => a.u - b.u);
    try {
      return await this.killedRun(run, scenario, draws);
    } catch (err) {
      // The harness could not drive the run (the device never called in …): a failure, with what happened.
      const why = [`the run broke: ${(err as Error).message}`];
      return { run, scenario, kills: [], missed: 0, outcome: 'error', verdict: 'inconsistent', why, durationMs: 0 };
    }
  }

  private async killedRun(run: number, scenario: Scenario, draws: readonly KillDraw[]): Promise<RunReport> {
    const cal = this.calibration[scenario];
    const path = PATHS[scenario];
    const { device, watch, id, deployment, deployedAt } = await this.deployTo(scenario);
    const kills: Kill[] = [];
    let missed = 0;
    try {
      // Where the agent (re)started, and when: the run's clock stands still while it is off and booting.
      let [current, mark] = ['idle', deployedAt];
      for (const draw of draws) {
        const aim = await this.aim(draw, device, watch, cal, path, current, mark, deployedAt);
        if (aim === null) {
          missed++;
          continue;
        }
        const kill = await this.cut(device, scenario, aim, deployedAt);
        kills.push(kill);
        current = kill.state;
        const killedAt = Date.now();
        mark = (kill.state === 'idle' ? null : await watch.entered(kill.state, killedAt, deployedAt, 5000)) ?? Date.now();
      }
      const verdict = await this.judge(scenario, device, watch, deployment, id);
      if (verdict.verdict !== 'ok') {
        const lines = watch.lines.slice(-60).map((l) => `  ${new Date(l.at).toISOString()} ${l.text}`);
        this.log(`run ${run}: the agent's last output\n${lines.join('\n')}`);
      }
      return { run, scenario, kills, missed, ...verdict, durationMs: Date.now() - deployedAt };
    } finally {
      await device.sim.stop();
      await rm(device.dir, { recursive: true, force: true });
    }
  }

  /** Waits for the instant a draw aims at; what it aimed at, or null when the run never got there. */
  private async aim(
    draw: KillDraw,
    device: AgentDevice,
    watch: AgentWatch,
    cal: Calibration,
    path: readonly string[],
    current: string,
    mark: number,
    deployedAt: number,
  ): Promise<string | null> {
    if (draw.kind === 'time') {
      const left = Math.max(50, cal.totalMs - (current === 'idle' ? 0 : (cal.enteredMs[current] ?? cal.totalMs / 2)));
      const wait = draw.u * left;
      return (await watch.pause(mark + wait - Date.now(), deployedAt))
        ? `${Math.round(wait)} ms into ${current === 'idle' ? 'the deployment' : `resumed ${current}`}`
        : null;
    }
    const ahead = path.slice(Math.max(0, path.indexOf(current)));
    const state = ahead[Math.floor(draw.u * ahead.length)] as string;
    const entered = await watch.entered(state, mark, deployedAt, cal.totalMs * 3 + 20_000);
    if (entered === null) return null;
    if (ENV_WRITERS.has(state) && draw.v < 0.5) {
      // From the instant fw_setenv starts to 1.5 ms later: it lives about a millisecond.
      const afterUs = draw.v * 2 * 1500;
      return (await toolRuns(device, 'fw_setenv', afterUs, watch, deployedAt, 3000))
        ? `${state}, fw_setenv + ${Math.round(afterUs)} µs`
        : null;
    }
    const delay = draw.v * (cal.durationMs[state] ?? 0);
    return (await watch.pause(entered + delay - Date.now(), deployedAt)) ? `${state} + ${Math.round(delay)} ms` : null;
  }

  /** The power cut, and what the device was doing at that instant. */
  private async cut(device: AgentDevice, scenario: Scenario, aim: string, deployedAt: number): Promise<Kill> {
    let [state, running] = ['?', [] as string[]];
    let phase = '?';
    await device.sim.powerCut({
      // The agent is frozen at the cut: what it had persisted and what it was running are exact.
      frozen: async () => {
        running = childrenOf(device.sim.agentPid);
        state = await persistedState(device).catch(() => 'unreadable');
      },
      off: async () => {
        phase = await phaseOf(device, state, running, this.releases[scenario]);
      },
    });
    return { aim, state, phase, afterMs: Date.now() - deployedAt };
  }

  /** A device that has called in and been accepted, its agent running, and a deployment of the scenario's release to it. */
  private async deployTo(scenario: Scenario) {
    const serial = `PC-${++this.serials}`;
    const watch = new AgentWatch();
    const device = await agentDevice(join(this.dir, serial), {
      serial,
      deviceType: DEVICE_TYPE,
      goldenRoot: this.golden,
      factoryImage: this.factory.image,
      bootable: (sha) => this.images.get(sha)?.bootable === true,
      server: this.server,
      failHealthWhileExists: true,
      killProcessGroup: true,
      onOutput: watch.feed,
      config: {
        polling: { intervalSeconds: 0.1, jitter: 0.1, retryMaxSeconds: 1, inventoryIntervalSeconds: 3600 },
        // A loaded CI machine must not fail a good release's health gate: only the kills may.
        healthGate: { serverTimeoutSeconds: 30 },
      },
    });
    // The sanity hook fails on this device: the release boots, but the app on it does not come up.
    if (scenario === 'unhealthy') await writeFile(device.failFlag, '');
    await this.server.preauthorize(device.identity, device.publicKeyPem);
    await device.sim.powerOn();
    const id = await eventually(`${serial} to call in`, () => this.server.deviceId(serial).then((d) => d ?? undefined));
    // Targeting needs the device type, which the inventory brings.
    await eventually(`${serial} inventory`, async () => (await this.server.inventory(id)).device_type === DEVICE_TYPE);
    const deployedAt = Date.now();
    const deployment = await this.server.deploy(this.releases[scenario].ref, [id]);
    return { device, watch, id, deployment, deployedAt };
  }

  /** The device after the update and the kills, once settled: every way it can be wrong, named. */
  private async judge(scenario: Scenario, device: AgentDevice, watch: AgentWatch, deployment: string, id: string): Promise<Verdict> {
    let status: string | null = null;
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    // Settled: the server has the outcome, the agent is idle, and both stay so for a moment.
    for (let stable = 0; stable < 3 && !device.sim.bricked && Date.now() < deadline; ) {
      await sleep(100);
      const now = await this.server.deviceStatus(deployment, id).catch(() => null);
      const state = await persistedState(device).catch((err: Error) => `unreadable (${err.message})`);
      stable = now !== null && FINAL.has(now) && now === status && state === 'idle' ? stable + 1 : 0;
      status = now;
    }
    const bricked = (why: string): Verdict => ({ verdict: 'bricked', why: [why], outcome: `${scenario}: bricked` });
    if (device.sim.bricked) return bricked('no slot came up');
    const env = await device.sim.readEnv();
    const active = env.get('slipway_slot') === 'b' ? 'b' : 'a';
    const image = this.images.get(await sha256Of(device.slots[active]));
    // What the next power-on boots must be a signed image that comes up.
    if (!image?.bootable)
      return bricked(
        `the environment boots slot ${active}, which holds ${image ? `${image.version}, which never comes up` : 'no signed image'}`,
      );

    const why: string[] = [];
    const booted = device.sim.boots.at(-1);
    if (booted?.slot !== active) why.push(`the device runs slot ${booted?.slot} but the environment boots ${active} next`);
    if ((env.get('upgrade_available') || '0') !== '0') why.push(`upgrade_available=${env.get('upgrade_available')} after the update ended`);
    if (!device.sim.running) why.push('the agent is not running');
    const state = await persistedState(device).catch((err: Error) => `unreadable (${err.message})`);
    if (state !== 'idle') why.push(`update.json is ${state}, not idle`);
    const release = this.releases[scenario];
    if (image !== this.factory && image !== release)
      why.push(`slot ${active} holds ${image.version}, neither the factory image nor ${release.version}`);
    const installed = await readJson(join(device.stateDir, 'installed.json')).catch(() => ({ version: 'unreadable' }));
    const expected = image === this.factory ? null : image.version;
    if ((installed?.version ?? null) !== expected)
      why.push(`installed.json says ${String(installed?.version ?? 'nothing')} but slot ${active} holds ${image.version}`);
    // Booted with upgrade_available=0: the new image runs and is committed.
    const committed = image === release;
    if (status === null || !FINAL.has(status))
      why.push(`the server shows ${status ?? 'nothing'} for the device after ${SETTLE_TIMEOUT_MS / 1000} s`);
    else if ((status === 'success') !== committed)
      why.push(`the server was told ${status} while the device ${committed ? 'runs and committed' : 'does not run'} ${release.version}`);
    if (scenario === 'unhealthy' && committed) why.push(`${release.version} was committed although its sanity hook fails`);
    if (status === 'failure' || status === 'rolled-back') {
      // The log the operator reads must tell the whole attempt, not only what a restart wrote after the upload.
      const log = (await this.server.deviceLog(deployment, id)) ?? '';
      if (!log.includes('state: downloading')) why.push(`the server's log of the attempt lost its beginning: ${lastLines(log, 4)}`);
      // A good release may fail only when the kills made it: the bootloader's trial count ran out, or a state looped.
      const output = watch.lines.map((l) => l.text).join('\n');
      if (scenario === 'good' && !/fell back|entered \d+ times/.test(output))
        why.push(`a good release ended ${status} without a loop or a bootloader fallback: ${lastLines(output, 4)}`);
    }
    return { verdict: why.length > 0 ? 'inconsistent' : 'ok', why, outcome: `${scenario}: ${status ?? 'none'}` };
  }

  private record(report: RunReport): void {
    const result = this.result;
    result.runs++;
    result.kills += report.kills.length;
    result.missedKills += report.missed;
    for (const kill of report.kills) {
      result.killsByState[kill.state] = (result.killsByState[kill.state] ?? 0) + 1;
      result.killsByPhase[kill.phase] = (result.killsByPhase[kill.phase] ?? 0) + 1;
    }
    result.outcomes[report.outcome] = (result.outcomes[report.outcome] ?? 0) + 1;
    const kills = report.kills.map((k) => `${k.aim}: ${k.afterMs} ms after the deployment, in ${k.phase}`).join('; ');
    const missed = report.missed ? ` (${report.missed} not made: the run did not get there)` : '';
    this.options.trace?.(`run ${report.run}, ${report.outcome}, ${report.verdict} in ${report.durationMs} ms; kills [${kills}]${missed}`);
    if (report.verdict !== 'ok') {
      if (report.verdict === 'bricked') result.bricked++;
      else result.inconsistent++;
      result.failures.push(
        `run ${report.run} (seed ${this.seed}; again: --seed ${this.seed} --run ${report.run}), scenario ${report.scenario}, ` +
          `kills [${kills}]${missed}: ${report.verdict}: ${report.why.join('; ')}`,
      );
      this.log(`FAILED ${result.failures.at(-1)}`);
    }
    this.options.onRun?.(result);
  }
}

async function upload(dir: string, server: UpdateServer, key: Signer, version: string, image: Buffer, bootable: boolean): Promise<Release> {
  const file = await rootfsArtifact(dir, { version, image, deviceType: DEVICE_TYPE, signer: key });

  await server.uploadArtifact(file);
  await rm(file);
  await rm(join(dir, `rootfs-${version}.img`));
  return { ref: `gateway-os@${version}`, version, image, bootable };
}

/** Reads the agent's output line by line: which state it entered when (the job log prints every transition). */
class AgentWatch {
  readonly lines: { at: number; text: string }[] = [];
  private readonly entries: { at: number; state: string }[] = [];
  private partial = '';
  private readonly waiters = new Set<() => void>();

  readonly feed = (text: string): void => {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    const at = Date.now();
    for (const line of parts) {
      this.lines.push({ at, text: line });
      if (this.lines.length > 4000) this.lines.shift();
      const state =
        /^\w+ --\w+--> (\w+)/.exec(line)?.[1] ??
        /^resuming the update in state (\w+)/.exec(line)?.[1] ??
        // Printed once a new update is persisted and its download starts (the offer's line comes before that).
        (line === 'state: downloading' ? 'downloading' : undefined);
      if (state) {
        this.entries.push({ at, state });
        for (const wake of this.waiters) wake();
      }
    }
  };

  /** The states entered since `since`, in ms after it. */
  timeline(since: number): { state: string; ms: number }[] {
    return this.entries.filter((e) => e.at >= since).map((e) => ({ state: e.state, ms: e.at - since }));
  }

  /** The update that began at `began` is over: back to idle, no state comes any more. */
  over(began: number): boolean {
    const last = this.entries.at(-1);
    return last !== undefined && last.at >= began && last.state === 'idle';
  }

  /** When the agent entered `state` at or after `since`; null if the update that began at `began` is over first, or after `timeoutMs`. */
  async entered(state: string, since: number, began: number, timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = this.entries.find((e) => e.at >= since && e.state === state);
      if (entry) return entry.at;
      if (this.over(began) || Date.now() >= deadline) return null;
      await this.next(deadline);
    }
  }

  /** Waits `ms`; false if the update that began at `began` is over first (a kill would interrupt nothing). */
  async pause(ms: number, began: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.over(began)) return false;
      await this.next(deadline);
    }
    return !this.over(began);
  }

  /** Until the next state is entered, or `deadline`. */
  private next(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
      this.waiters.add(wake);
    });
  }
}

/** Where each state began and how long it lasted (until another state began) in an unkilled run. */
function measure(timeline: readonly { state: string; ms: number }[]): Calibration {
  const enteredMs: Record<string, number> = {};
  const durationMs: Record<string, number> = {};
  timeline.forEach((entry, i) => {
    if (entry.state === 'idle' || entry.state in enteredMs) return;
    enteredMs[entry.state] = entry.ms;
    const left = timeline.slice(i + 1).find((e) => e.state !== entry.state);
    durationMs[entry.state] = (left?.ms ?? entry.ms) - entry.ms;
  });
  const end = timeline.find((e) => e.state === 'idle')?.ms ?? timeline.at(-1)?.ms ?? 0;
  return { totalMs: end, enteredMs, durationMs };
}

/**
 * Until the agent runs `tool`, then `afterUs` microseconds more; false if the update ends or
 * `timeoutMs` passes first. fw_setenv lives about a millisecond, less than an await takes, so this
 * polls /proc synchronously in slices of 20 ms and lets the event loop run in between.
 */
async function toolRuns(
  device: AgentDevice,
  tool: string,
  afterUs: number,
  watch: AgentWatch,
  began: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !watch.over(began)) {
    for (const slice = performance.now() + 20; performance.now() < slice; ) {
      if (childrenOf(device.sim.agentPid).includes(tool)) {
        for (const until = performance.now() + afterUs / 1000; performance.now() < until; );
        return true;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return false;
}

/** The programs the agent is running (fw_setenv, a sanity hook …), by name; synchronous, for speed. */
function childrenOf(pid: number | undefined): string[] {
  if (pid === undefined) return [];
  const names: string[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ')) {
        if (!child.trim()) continue;
        try {
          names.push(readFileSync(`/proc/${child.trim()}/comm`, 'utf8').trim());
        } catch {
          // It exited between the two reads.
        }
      }
    }
  } catch {
    // The agent is gone.
  }
  return names;
}

/** How far the state's effect had got at the cut, from what it leaves behind (read with the power off). */
async function phaseOf(device: AgentDevice, state: string, running: readonly string[], release: Release): Promise<string> {
  // `node` is a child between fork and exec.
  const tools = running.length > 0 ? `, ${[...new Set(running)].sort().join('+')} running` : '';
  const env = await device.sim.readEnv().catch(() => new Map<string, string>());
  // A fresh device runs slot a and writes the release to slot b.
  const onB = env.get('slipway_slot') === 'b';
  const trial = env.get('upgrade_available') === '1';
  switch (state) {
    case 'downloading': {
      const written = (await sha256Of(device.slots.b)) === sha256(release.image);
      return `downloading: slot ${written ? 'written, not switched yet' : 'being written'}${tools}`;
    }
    case 'installing':
      return `installing: env ${onB && trial ? 'switched to the trial' : 'not switched yet'}${tools}`;
    case 'committing':
      return `committing: env ${!onB ? 'fell back' : trial ? 'still on trial' : 'committed'}${tools}`;
    case 'rollingBack':
      return `rollingBack: env ${!onB && !trial ? 'reverted' : 'not reverted yet'}${tools}`;
    default:
      return `${state}${tools}`;
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const persistedState = async (device: AgentDevice): Promise<string> =>
  String((await readJson(join(device.stateDir, 'update.json')))?.state ?? 'idle');

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
