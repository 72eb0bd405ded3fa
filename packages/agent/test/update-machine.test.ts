import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SlipwayError } from '@slipway/core';
import { IDLE, StateStore, type UpdateJob, type UpdateRecord } from '../src/state/state-store.js';
import { EVENTS, STATES, TRANSITIONS, type UpdateEvent, type UpdateStateName } from '../src/state/transitions.js';
import { type Effect, UpdateMachine, type WorkingState } from '../src/state/update-machine.js';

const JOB: UpdateJob = {
  deploymentId: 'd-1',
  attempt: 1,
  source: 'https://server/api/devices/v1/downloads/x',
  artifact: { name: 'gateway-os', version: '2.0', sha256: null, securityVersion: 3, payloadType: 'rootfs' },
};
const WORKING = STATES.filter((s): s is WorkingState => s !== 'idle');

/** Effects that end each state with the event the test chose (failed by default), recording what the store held when each ran. */
function scripted(
  events: Partial<Record<WorkingState, UpdateEvent>>,
  store: StateStore,
  seen: UpdateRecord[] = [],
): Record<WorkingState, Effect> {
  const effects = {} as Record<WorkingState, Effect>;
  for (const state of WORKING)
    effects[state] = async () => {
      seen.push(await store.load());
      return { event: events[state] ?? 'failed' };
    };
  return effects;
}

describe('the update state machine', () => {
  let dir: string;
  let n = 0;
  const fresh = () => new StateStore(join(dir, `update-${++n}.json`));
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-state-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('every transition of the table moves to its next state and persists it', async () => {
    for (const t of TRANSITIONS) {
      const store = fresh();
      if (t.from === 'idle') {
        await new UpdateMachine(store, scripted({}, store)).begin(JOB);
      } else {
        await store.save({ ...IDLE, state: t.from, job: JOB });
        await new UpdateMachine(store, scripted({ [t.from]: t.event }, store)).step();
      }
      assert.equal((await store.load()).state, t.to, `${t.from} --${t.event}--> ${t.to}`);
    }
  });

  test('every working state has a way out on failure and on a loop, and every state is reachable', () => {
    for (const state of WORKING) {
      for (const event of ['failed', 'looping'] as const)
        assert.ok(
          TRANSITIONS.some((t) => t.from === state && t.event === event),
          `${state} has no ${event} transition`,
        );
      assert.ok(
        TRANSITIONS.some((t) => t.to === state),
        `${state} cannot be reached`,
      );
    }
    for (const t of TRANSITIONS) assert.ok((EVENTS as readonly string[]).includes(t.event));
    const pairs = TRANSITIONS.map((t) => `${t.from} ${t.event}`);
    assert.equal(new Set(pairs).size, pairs.length, 'one transition per state and event');
  });

  test('the state is persisted, with its entry counted, before the effect runs', async () => {
    const store = fresh();
    const seen: UpdateRecord[] = [];
    const machine = new UpdateMachine(store, scripted({ downloading: 'downloaded', installing: 'needsReboot' }, store, seen));
    await machine.begin(JOB);
    await machine.step();
    await machine.step();
    assert.deepEqual(
      seen.map((r) => [r.state, r.entries[r.state]]),
      [
        ['downloading', 1],
        ['installing', 1],
      ],
    );
    assert.equal((await store.load()).state, 'rebooting');
    const onDisk = JSON.parse(await readFile(join(dir, `update-${n}.json`), 'utf8')) as UpdateRecord;
    assert.equal(onDisk.job?.artifact.version, '2.0');
  });

  test('a process killed in a state runs it again on restart, and a crash loop ends in rollback', async () => {
    const store = fresh();
    await store.save({ ...IDLE, state: 'verifying', job: JOB });
    // Each "boot" is a new machine on the same file whose health gate never returns: the process
    // is killed in it. The step is abandoned, as a killed process abandons it.
    for (let boot = 1; boot <= 5; boot++) {
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const effects = scripted({}, store);
      effects.verifying = () => {
        started();
        return new Promise(() => {});
      };
      void new UpdateMachine(store, effects, { maxEntries: 5 }).step();
      await running;
      const record = await store.load();
      assert.equal(record.state, 'verifying', 'killed mid-effect: the state is unchanged');
      assert.equal(record.entries.verifying, boot);
    }
    let ran = false;
    const effects = scripted({}, store);
    effects.verifying = async () => {
      ran = true;
      return { event: 'healthy' };
    };
    assert.equal(await new UpdateMachine(store, effects, { maxEntries: 5 }).step(), 'rollingBack');
    assert.equal(ran, false, 'the sixth boot does not run the health gate again');
  });

  test('a state entered too often ends with looping instead of running its effect again', async () => {
    const store = fresh();
    await store.save({ ...IDLE, state: 'rebooting', job: JOB, entries: { rebooting: 5 } });
    let ran = false;
    const effects = scripted({}, store);
    effects.rebooting = async () => {
      ran = true;
      return { event: 'booted' };
    };
    assert.equal(await new UpdateMachine(store, effects, { maxEntries: 5 }).step(), 'rollingBack');
    assert.equal(ran, false);
    assert.match((await store.load()).error ?? '', /rebooting was entered 6 times/);
  });

  test('a transient error retries the state after a back-off; a fatal one ends it with failed', async () => {
    const store = fresh();
    await new UpdateMachine(store, scripted({}, store)).begin(JOB);
    const waits: number[] = [];
    let calls = 0;
    const effects = scripted({}, store);
    effects.downloading = async () => {
      calls++;
      if (calls < 3) throw new SlipwayError('SLW_SERVER_UNREACHABLE', 'link down');
      throw new SlipwayError('SLW_ARTIFACT_SIGNATURE_INVALID', 'not signed by the release keys');
    };
    const machine = new UpdateMachine(store, effects, { backoff: async (attempt) => void waits.push(attempt) });
    assert.equal(await machine.step(), 'downloading');
    assert.equal(await machine.step(), 'downloading');
    assert.equal(await machine.step(), 'reportingFailure');
    assert.deepEqual(waits, [1, 2]);
    assert.match((await store.load()).error ?? '', /not signed by the release keys/);
  });

  test('run() goes through a whole update and ends idle; a second begin during an update is refused', async () => {
    const store = fresh();
    const visited: UpdateStateName[] = [];
    const events = {
      downloading: 'downloaded',
      installing: 'needsReboot',
      rebooting: 'booted',
      verifying: 'healthy',
      committing: 'committed',
      reportingSuccess: 'reported',
    } as const;
    const machine = new UpdateMachine(store, scripted(events, store), { onTransition: (_from, _event, to) => visited.push(to) });
    await machine.begin(JOB);
    await assert.rejects(machine.begin(JOB), (err: SlipwayError) => err.code === 'SLW_AGENT_BUSY');
    const last = await machine.run();
    assert.equal(last.state, 'reportingSuccess');
    assert.deepEqual(visited, ['installing', 'rebooting', 'verifying', 'committing', 'reportingSuccess', 'idle']);
    assert.equal((await store.load()).state, 'idle');
  });

  test('a hand-edited state file is refused with a coded error, not guessed at', async () => {
    const store = fresh();
    await store.save({ ...IDLE, state: 'committing' });
    const file = join(dir, `update-${n}.json`);
    await writeFile(file, '{"format":1,"state":"dancing"}');
    await assert.rejects(store.load(), (err: SlipwayError) => err.code === 'SLW_AGENT_STATE_INVALID');
    await writeFile(file, '{not json');
    await assert.rejects(store.load(), (err: SlipwayError) => err.code === 'SLW_AGENT_STATE_INVALID');
  });
});
