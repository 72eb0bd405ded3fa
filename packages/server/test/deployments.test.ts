import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Signer } from '@slipway/core';
import { ADMIN_PASSWORD, API, bearer, login, type TestApp, testApp } from './support/app.js';
import { DIALECTS, type TestDatabase } from './support/databases.js';
import { DEVICES, errorCode, type TestCa, testCa } from './support/device.js';
import { admitFleet, eventually, type FleetDevice, trustRelease, uploadArtifact } from './support/fleet.js';

interface Deployment {
  id: string;
  status: string;
  statusReason: string | null;
  currentPhase: number;
  devices: { total: number; pending: number; inProgress: number; succeeded: number; failed: number; aborted: number };
  phases: { phase: number; size: number; completedAt: string | null; successRate: number | null }[];
  excluded?: { incompatible: number; notAccepted: number };
}
interface Offer {
  id: string;
  attempt: number;
  status: string;
  artifact: { name: string; version: string; sha256: string; size: number };
  download: { url: string; expiresAt: string };
  install: { allowed: boolean; windowOpensAt: string | null; windowClosesAt: string | null };
}

const skip = 'PostgreSQL is not reachable here (CI=true makes this a failure)';
const STEPS = ['downloading', 'installing', 'rebooting', 'committing'] as const;

for (const [name, make] of DIALECTS) {
  describe(`deployments and phased rollouts on ${name}`, () => {
    let target: TestDatabase | null;
    let t: TestApp;
    let ca: TestCa;
    let admin: string;
    let release: Signer;
    let artifact: { id: string; bytes: Buffer };

    before(async () => {
      target = await make();
      if (!target) return;
      ca = await testCa('Factory');
      // Device tokens outlive the hours these tests move the clock on by.
      t = await testApp(target, { manufacturingCas: [new X509Certificate(ca.cert)], devices: { tokenLifetimeSeconds: 86_400 } });
      admin = await login(t.app, 'admin', ADMIN_PASSWORD);
      release = await trustRelease(t.app, admin);
      artifact = await uploadArtifact(t.app, admin, target.config.dataDir, release, 'gateway-os', '2.0', ['gw-a']);
    });
    after(async () => {
      if (!target) return;
      await t.close();
      await target.cleanup();
    });

    const create = (body: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: `${API}/deployments`, headers: bearer(admin), payload: { artifact: 'gateway-os@2.0', ...body } });
    const created = async (body: Record<string, unknown>): Promise<Deployment> => {
      const response = await create(body);
      assert.equal(response.statusCode, 201, response.body);
      return response.json() as Deployment;
    };
    const show = async (id: string) =>
      (await t.app.inject({ url: `${API}/deployments/${id}`, headers: bearer(admin) })).json() as Deployment;
    const control = (id: string, action: string) =>
      t.app.inject({ method: 'POST', url: `${API}/deployments/${id}/${action}`, headers: bearer(admin) });
    const next = (device: FleetDevice) => t.app.inject({ url: `${DEVICES}/deployments/next`, headers: bearer(device.token) });
    const offer = async (device: FleetDevice): Promise<Offer> => {
      const response = await next(device);
      assert.equal(response.statusCode, 200, `${device.serial}: ${response.statusCode} ${response.body}`);
      return response.json() as Offer;
    };
    const report = (device: FleetDevice, id: string, status: string, attempt = 1, extra: Record<string, unknown> = {}) =>
      t.app.inject({
        method: 'PUT',
        url: `${DEVICES}/deployments/${id}/status`,
        headers: bearer(device.token),
        payload: { attempt, status, ...extra },
      });
    const install = async (device: FleetDevice, id: string, outcome: 'success' | 'failure' | 'rolled-back', attempt = 1) => {
      for (const step of STEPS.slice(0, outcome === 'success' ? 4 : 2))
        assert.equal((await report(device, id, step, attempt)).statusCode, 200);
      const final = await report(device, id, outcome, attempt);
      assert.equal(final.statusCode, 200, final.body);
      return final.json() as { status: string; attempt: number; proceed: boolean };
    };
    const inPhase = async (id: string, fleet: FleetDevice[], phase: number) => {
      const response = await t.app.inject({ url: `${API}/deployments/${id}/devices?phase=${phase}&perPage=500`, headers: bearer(admin) });
      const ids = new Set((response.json() as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId));
      return fleet.filter((d) => ids.has(d.id));
    };
    const group = async (groupName: string, members: FleetDevice[]) => {
      await t.app.inject({ method: 'POST', url: `${API}/groups`, headers: bearer(admin), payload: { name: groupName } });
      const added = await t.app.inject({
        method: 'POST',
        url: `${API}/groups/${groupName}/add`,
        headers: bearer(admin),
        payload: { deviceIds: members.map((d) => d.id) },
      });
      assert.equal(added.statusCode, 200, added.body);
    };
    const audited = async (action: string, deploymentId: string) =>
      await t.db
        .selectFrom('auditEntry')
        .select(['actorType', 'details'])
        .where('action', '=', action)
        .where('target', '=', deploymentId)
        .execute();

    test('a three-phase rollout on 7 devices offers the update phase by phase and advances at the success threshold', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const fleet = await admitFleet(t.app, ca, 'GW-3P', 7, 'gw-a');
      const others = [...(await admitFleet(t.app, ca, 'GW-3P-B', 1, 'gw-b')), ...(await admitFleet(t.app, ca, 'GW-3P-X', 1, null))];
      await group('three-phase', [...fleet, ...others]);
      const d = await created({ group: 'three-phase', phases: ['5%', '25%', '100%'], successThreshold: '95%' });
      assert.equal(d.status, 'active');
      assert.equal(d.currentPhase, 1);
      assert.deepEqual(d.excluded, { incompatible: 2, notAccepted: 0 });
      assert.deepEqual(
        d.phases.map((p) => p.size),
        [1, 1, 5],
      );
      for (const other of others) assert.equal((await next(other)).statusCode, 204, 'an incompatible device is never offered the update');

      for (const phase of [1, 2, 3]) {
        const members = await inPhase(d.id, fleet, phase);
        for (const device of members) {
          const o = await offer(device);
          assert.equal(o.id, d.id);
          assert.equal(o.artifact.sha256.length, 64);
          assert.equal(o.install.allowed, true);
        }
        if (phase < 3) for (const device of await inPhase(d.id, fleet, phase + 1)) assert.equal((await next(device)).statusCode, 204);
        for (const device of members) assert.equal((await install(device, d.id, 'success')).proceed, false);
        if (phase < 3)
          await eventually(
            () => show(d.id),
            (x) => x.currentPhase === phase + 1,
            `advance to phase ${phase + 1}`,
          );
      }
      const done = await eventually(
        () => show(d.id),
        (x) => x.status === 'succeeded',
        'the deployment succeeds',
      );
      assert.equal(done.devices.succeeded, 7);
      assert.deepEqual(
        done.phases.map((p) => p.successRate),
        [100, 100, 100],
      );
      assert.equal((await audited('deployment.phase-advanced', d.id)).length, 2);
      assert.equal((await audited('deployment.phase-advanced', d.id))[0]?.actorType, 'system');
      assert.equal((await audited('deployment.finished', d.id)).length, 1);
      for (const device of fleet) assert.equal((await next(device)).statusCode, 204);
    });

    test('the rollout halts by itself when failures in a phase reach the limit, and resumes on request', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const webhook = await t.app.inject({
        method: 'POST',
        url: `${API}/webhooks`,
        headers: bearer(admin),
        payload: { name: 'rollouts', url: 'https://127.0.0.1:9/hook', events: ['deployment.*'] },
      });
      assert.equal(webhook.statusCode, 201, webhook.body);
      const fleet = await admitFleet(t.app, ca, 'GW-HALT', 10, 'gw-a');
      const d = await created({ devices: fleet.map((x) => x.id), phases: ['50%', '100%'], maxFailures: '2', successThreshold: '60%' });
      const first = await inPhase(d.id, fleet, 1);
      const second = await inPhase(d.id, fleet, 2);
      assert.equal(first.length, 5);
      const [a, b, c, e, f] = first as [FleetDevice, FleetDevice, FleetDevice, FleetDevice, FleetDevice];
      await offer(e);
      assert.equal((await report(e, d.id, 'downloading', 1, { progress: 40 })).statusCode, 200);
      await install(a, d.id, 'failure');
      assert.equal((await show(d.id)).status, 'active', 'one failure is under the limit of two');
      await install(b, d.id, 'rolled-back');
      const halted = await eventually(
        () => show(d.id),
        (x) => x.status === 'halted',
        'the rollout halts',
      );
      assert.match(halted.statusReason ?? '', /phase 1 reached 2 failed devices/);
      assert.equal(halted.currentPhase, 1, 'the next phase did not start');
      assert.equal((await next(c)).statusCode, 204, 'a device that had not started is not offered a halted deployment');
      assert.equal((await offer(e)).id, d.id, 'a device already downloading may finish');
      for (const device of second) assert.equal((await next(device)).statusCode, 204);
      const halts = await audited('deployment.halted', d.id);
      assert.equal(halts.length, 1);
      const queued = await t.db.selectFrom('webhookDelivery').select('eventType').where('payload', 'like', `%${d.id}%`).execute();
      assert.ok(queued.some((q) => q.eventType === 'deployment.halted'));
      assert.ok(queued.some((q) => q.eventType === 'deployment.device-failed'));

      assert.equal(errorCode(await control(d.id, 'pause')), 'SLW_DEPLOYMENT_STATE');
      const resumed = await control(d.id, 'resume');
      assert.equal(resumed.statusCode, 200, resumed.body);
      assert.equal((resumed.json() as Deployment).status, 'active', 'failures seen before resuming do not halt it again');
      assert.equal((await offer(c)).id, d.id);
      assert.equal((await offer(f)).id, d.id);
      for (const device of [c, e, f]) await install(device, d.id, 'success');
      await eventually(
        () => show(d.id),
        (x) => x.currentPhase === 2,
        'three of five reach the 60% threshold',
      );
      await t.app.inject({ method: 'DELETE', url: `${API}/webhooks/rollouts`, headers: bearer(admin) });
      assert.equal((await control(d.id, 'abort')).statusCode, 200);
    });

    test('a phase that ends below the success threshold halts the rollout; the last phase fails the deployment', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const fleet = await admitFleet(t.app, ca, 'GW-BELOW', 4, 'gw-a');
      const d = await created({ devices: fleet.map((x) => x.id), phases: ['50%', '100%'], maxFailures: '100%', successThreshold: '100%' });
      const [a, b] = (await inPhase(d.id, fleet, 1)) as [FleetDevice, FleetDevice];
      await install(a, d.id, 'success');
      await install(b, d.id, 'failure');
      const halted = await eventually(
        () => show(d.id),
        (x) => x.status === 'halted',
        'halted below the threshold',
      );
      assert.match(halted.statusReason ?? '', /1 of 2 devices succeeded; 2 needed/);
      const advanced = await control(d.id, 'advance');
      assert.equal((advanced.json() as Deployment).currentPhase, 2, 'an operator may push on regardless');
      for (const device of await inPhase(d.id, fleet, 2)) await install(device, d.id, 'failure');
      const failed = await eventually(
        () => show(d.id),
        (x) => x.status === 'failed',
        'the deployment fails',
      );
      assert.equal(failed.devices.failed, 3);
      assert.equal(errorCode(await control(d.id, 'resume')), 'SLW_DEPLOYMENT_STATE');
    });

    test('a deployment succeeds at the threshold without waiting for a device that never called, which still gets it later', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const fleet = await admitFleet(t.app, ca, 'GW-LATE', 3, 'gw-a');
      const d = await created({ devices: fleet.map((x) => x.id), successThreshold: '60%' });
      const [a, b, late] = fleet as [FleetDevice, FleetDevice, FleetDevice];
      await install(a, d.id, 'success');
      await offer(b);
      await report(b, d.id, 'downloading');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await show(d.id)).status, 'active', 'a device still working is waited for');
      for (const step of STEPS.slice(1)) await report(b, d.id, step);
      await report(b, d.id, 'success');
      const done = await eventually(
        () => show(d.id),
        (x) => x.status === 'succeeded',
        'two of three is the 60% threshold',
      );
      assert.equal(done.devices.pending, 1);
      assert.equal((await offer(late)).id, d.id, 'the latecomer is still offered the update');
      await install(late, d.id, 'success');
      assert.equal((await show(d.id)).devices.succeeded, 3);
    });

    test('with manual approval a phase that reached the threshold waits for advance', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const fleet = await admitFleet(t.app, ca, 'GW-MANUAL', 2, 'gw-a');
      const d = await created({ devices: fleet.map((x) => x.id), phases: ['50%', '100%'], approval: 'manual' });
      const [a] = (await inPhase(d.id, fleet, 1)) as [FleetDevice];
      const [b] = (await inPhase(d.id, fleet, 2)) as [FleetDevice];
      await install(a, d.id, 'success');
      await eventually(
        () => show(d.id),
        (x) => x.phases[0]?.completedAt !== null,
        'phase 1 completes',
      );
      assert.equal((await show(d.id)).currentPhase, 1);
      assert.equal((await next(b)).statusCode, 204);
      assert.equal((await audited('deployment.phase-completed', d.id)).length, 1);
      assert.equal((await control(d.id, 'advance')).statusCode, 200);
      assert.equal((await offer(b)).id, d.id);
      const manual = await audited('deployment.advance', d.id);
      assert.equal(manual[0]?.actorType, 'user');
      await install(b, d.id, 'success');
      await eventually(
        () => show(d.id),
        (x) => x.status === 'succeeded',
        'finished',
      );
    });

    test('a maintenance window lets devices download outside it but not install', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [device] = (await admitFleet(t.app, ca, 'GW-WINDOW', 1, 'gw-a')) as [FleetDevice];
      const now = new Date();
      const hour = (now.getUTCHours() + 3) % 24;
      const d = await created({ devices: [device.id], window: `0 ${hour} * * */1h/UTC` });
      const o = await offer(device);
      assert.equal(o.install.allowed, false);
      assert.equal(new Date(o.install.windowOpensAt ?? '').getUTCHours(), hour);
      assert.equal((await report(device, d.id, 'downloading', 1, { progress: 100 })).statusCode, 200);
      const early = await report(device, d.id, 'installing');
      assert.equal(early.statusCode, 409);
      assert.equal(errorCode(early), 'SLW_DEPLOYMENT_WINDOW_CLOSED');
      t.advance(new Date(o.install.windowOpensAt ?? '').getTime() - now.getTime() + 60_000);
      try {
        const inside = await offer(device);
        assert.equal(inside.install.allowed, true);
        assert.ok(inside.install.windowClosesAt);
        assert.equal((await report(device, d.id, 'installing')).statusCode, 200);
      } finally {
        t.advance(-(new Date(o.install.windowOpensAt ?? '').getTime() - now.getTime() + 60_000));
      }
      assert.equal((await control(d.id, 'abort')).statusCode, 200);
    });

    test('abort mid-download stops the download and tells the device to stop; devices past installing finish', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [downloader, rebooter] = (await admitFleet(t.app, ca, 'GW-ABORT', 2, 'gw-a')) as [FleetDevice, FleetDevice];
      const d = await created({ devices: [downloader.id, rebooter.id] });
      const o = await offer(downloader);
      const part = await t.app.inject({ url: o.download.url, headers: { ...bearer(downloader.token), range: 'bytes=0-9999' } });
      assert.equal(part.statusCode, 206);
      assert.deepEqual(part.rawPayload, artifact.bytes.subarray(0, 10_000));
      assert.equal((await report(downloader, d.id, 'downloading', 1, { progress: 5 })).statusCode, 200);
      await offer(rebooter);
      for (const step of ['downloading', 'installing', 'rebooting']) await report(rebooter, d.id, step);

      const refused = await t.app.inject({ method: 'DELETE', url: `${API}/artifacts/${artifact.id}`, headers: bearer(admin) });
      assert.equal(refused.statusCode, 409);
      assert.equal(errorCode(refused), 'SLW_ARTIFACT_IN_USE');

      const aborted = await control(d.id, 'abort');
      assert.equal(aborted.statusCode, 200, aborted.body);
      assert.equal((aborted.json() as Deployment).status, 'aborted');
      const rest = await t.app.inject({ url: o.download.url, headers: { ...bearer(downloader.token), range: 'bytes=10000-' } });
      assert.equal(rest.statusCode, 409);
      assert.equal(errorCode(rest), 'SLW_DEPLOYMENT_ABORTED');
      const told = await report(downloader, d.id, 'downloading', 1, { progress: 50 });
      assert.equal(errorCode(told), 'SLW_DEPLOYMENT_ABORTED');
      assert.equal((await next(downloader)).statusCode, 204);
      const finished = await report(rebooter, d.id, 'committing');
      assert.equal(finished.statusCode, 200, 'a device past installing is not stopped half-way');
      assert.equal((await report(rebooter, d.id, 'success')).statusCode, 200);
      const after = await show(d.id);
      assert.equal(after.devices.aborted, 1);
      assert.equal(after.devices.succeeded, 1);
      assert.equal(errorCode(await control(d.id, 'abort')), 'SLW_DEPLOYMENT_STATE');
    });

    test('retries are bounded by max attempts, and a repeated report changes nothing', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [device] = (await admitFleet(t.app, ca, 'GW-RETRY', 1, 'gw-a')) as [FleetDevice];
      const d = await created({ devices: [device.id], maxAttempts: 2, maxFailures: '100%', successThreshold: '100%' });
      assert.equal((await offer(device)).attempt, 1);
      const first = await install(device, d.id, 'failure', 1);
      assert.deepEqual(first, { status: 'pending', attempt: 2, proceed: true });
      // The same report again (its answer was lost): already counted, nothing changes.
      assert.deepEqual((await report(device, d.id, 'failure', 1)).json(), { status: 'pending', attempt: 2, proceed: true });
      const retry = await offer(device);
      assert.equal(retry.attempt, 2);
      await report(device, d.id, 'downloading', 2);
      assert.equal((await report(device, d.id, 'downloading', 2)).statusCode, 200, 'a duplicate step report is harmless');
      assert.equal((await report(device, d.id, 'installing', 2)).statusCode, 200);
      assert.equal((await report(device, d.id, 'downloading', 2)).json().status, 'installing', 'a late earlier step does not go back');
      assert.deepEqual((await report(device, d.id, 'failure', 2)).json(), { status: 'failure', attempt: 2, proceed: false });
      assert.equal((await report(device, d.id, 'failure', 2)).statusCode, 200, 'repeating the final report is harmless');
      assert.equal(errorCode(await report(device, d.id, 'success', 2)), 'SLW_DEPLOYMENT_REPORT_INVALID');
      assert.equal(errorCode(await report(device, d.id, 'downloading', 3)), 'SLW_DEPLOYMENT_REPORT_INVALID');
      assert.equal((await next(device)).statusCode, 204, 'no third attempt');
      const finished = await eventually(
        () => show(d.id),
        (x) => x.status === 'failed',
        'the deployment fails',
      );
      assert.equal(finished.devices.failed, 1);
      assert.equal((await audited('deployment.finished', d.id)).length, 1);
    });

    test('a failed device uploads its log and operators read it', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [device] = (await admitFleet(t.app, ca, 'GW-LOG', 1, 'gw-a')) as [FleetDevice];
      const d = await created({ devices: [device.id] });
      await offer(device);
      await install(device, d.id, 'rolled-back');
      const log = 'installing rootfs to slot B\nhealth check failed: app did not start\nrolled back to slot A\n';
      const upload = await t.app.inject({
        method: 'PUT',
        url: `${DEVICES}/deployments/${d.id}/logs?attempt=1`,
        headers: { ...bearer(device.token), 'content-type': 'text/plain' },
        payload: log,
      });
      assert.equal(upload.statusCode, 204, upload.body);
      const read = await t.app.inject({ url: `${API}/deployments/${d.id}/devices/${device.id}/logs`, headers: bearer(admin) });
      assert.equal((read.json() as { log: string }[])[0]?.log, log);
      const stranger = (await admitFleet(t.app, ca, 'GW-LOG-X', 1, 'gw-a'))[0] as FleetDevice;
      const foreign = await t.app.inject({
        method: 'PUT',
        url: `${DEVICES}/deployments/${d.id}/logs?attempt=1`,
        headers: { ...bearer(stranger.token), 'content-type': 'text/plain' },
        payload: 'forged',
      });
      assert.equal(errorCode(foreign), 'SLW_DEPLOYMENT_NOT_FOUND');
      assert.equal(errorCode(await report(stranger, d.id, 'success')), 'SLW_DEPLOYMENT_NOT_FOUND');
    });

    test('a device in two deployments lists both, newest first, with its status in each', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [device, bystander] = (await admitFleet(t.app, ca, 'GW-HIST', 2, 'gw-a')) as [FleetDevice, FleetDevice];
      const history = (id: string, query = '') => t.app.inject({ url: `${API}/devices/${id}/deployments${query}`, headers: bearer(admin) });
      assert.deepEqual((await history(device.id)).json(), { deployments: [] });
      const first = await created({ devices: [device.id] });
      await offer(device);
      await install(device, first.id, 'failure');
      await uploadArtifact(t.app, admin, target.config.dataDir, release, 'gateway-os', '2.1', ['gw-a']);
      const second = await created({ devices: [device.id], artifact: 'gateway-os@2.1' });
      await report(device, second.id, 'downloading', 1, { progress: 40 });
      const response = await history(device.id);
      assert.equal(response.statusCode, 200, response.body);
      const { deployments } = response.json() as { deployments: Record<string, unknown>[] };
      assert.deepEqual(
        deployments.map(({ updatedAt, finishedAt, ...rest }) => ({ ...rest, updated: typeof updatedAt, finished: finishedAt !== null })),
        [
          {
            deploymentId: second.id,
            artifact: { name: 'gateway-os', version: '2.1' },
            deploymentStatus: 'active',
            phase: 1,
            status: 'downloading',
            attempt: 1,
            progress: 40,
            message: null,
            updated: 'string',
            finished: false,
          },
          {
            deploymentId: first.id,
            artifact: { name: 'gateway-os', version: '2.0' },
            deploymentStatus: (await show(first.id)).status,
            phase: 1,
            status: 'failure',
            attempt: 1,
            progress: null,
            message: null,
            updated: 'string',
            finished: true,
          },
        ],
      );
      const newest = (await history(device.id, '?limit=1')).json() as { deployments: { deploymentId: string }[] };
      assert.deepEqual(
        newest.deployments.map((d) => d.deploymentId),
        [second.id],
      );
      assert.deepEqual((await history(bystander.id)).json(), { deployments: [] });
      assert.equal(errorCode(await history('00000000-0000-4000-8000-000000000000')), 'SLW_DEVICE_NOT_FOUND');
      assert.equal((await history('00000000-0000-4000-8000-000000000000')).statusCode, 404);
      assert.equal(errorCode(await history('not-a-device')), 'SLW_DEVICE_NOT_FOUND');
      assert.equal((await history(device.id, '?limit=0')).statusCode, 400);
      assert.equal((await history(device.id, '?limit=501')).statusCode, 400);
      assert.equal((await history(device.id, '?since=1')).statusCode, 400);
      assert.equal((await control(second.id, 'abort')).statusCode, 200);
    });

    test('the download link from the offer gives the artifact bytes, and a phase start time holds the rollout back', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [device] = (await admitFleet(t.app, ca, 'GW-LINK', 1, 'gw-a')) as [FleetDevice];
      const later = new Date(Date.now() + 2 * 3600_000).toISOString();
      const d = await created({ devices: [device.id], phases: [`100%@${later}`] });
      assert.equal(d.currentPhase, 0);
      assert.equal((await next(device)).statusCode, 204, 'not before its start time');
      t.advance(2 * 3600_000 + 1000);
      try {
        await eventually(
          () => show(d.id),
          (x) => x.currentPhase === 1,
          'the rollout engine starts the phase on time',
        );
        const o = await offer(device);
        const whole = await t.app.inject({ url: o.download.url, headers: bearer(device.token) });
        assert.equal(whole.statusCode, 200);
        assert.deepEqual(whole.rawPayload, artifact.bytes);
      } finally {
        t.advance(-(2 * 3600_000 + 1000));
      }
      assert.equal((await control(d.id, 'abort')).statusCode, 200);
    });

    test('bad deployment requests get coded errors', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const [device] = (await admitFleet(t.app, ca, 'GW-BAD', 1, 'gw-b')) as [FleetDevice];
      const cases: [Record<string, unknown>, string][] = [
        [{ devices: [device.id], artifact: 'gateway-os@9.9' }, 'SLW_ARTIFACT_NOT_FOUND'],
        [{ devices: [device.id] }, 'SLW_DEPLOYMENT_NO_TARGETS'],
        [{ devices: ['no-such-device'] }, 'SLW_DEVICE_NOT_FOUND'],
        [{ group: 'no-such-group' }, 'SLW_GROUP_NOT_FOUND'],
        [{}, 'SLW_DEPLOYMENT_INVALID'],
        [{ devices: [device.id], phases: ['5%', '50%'] }, 'SLW_DEPLOYMENT_INVALID'],
        [{ devices: [device.id], window: 'whenever' }, 'SLW_DEPLOYMENT_INVALID'],
        [{ devices: [device.id], successThreshold: '120%' }, 'SLW_DEPLOYMENT_INVALID'],
      ];
      for (const [body, expected] of cases) assert.equal(errorCode(await create(body)), expected, JSON.stringify(body));
      assert.equal(errorCode(await control('00000000-0000-0000-0000-000000000000', 'pause')), 'SLW_DEPLOYMENT_NOT_FOUND');
    });

    test('reports: versions by device type, success rates per deployment and phase, devices gone quiet', async (ctx) => {
      if (!target) return ctx.skip(skip);
      const versions = (await t.app.inject({ url: `${API}/reports/versions`, headers: bearer(admin) })).json() as {
        deviceType: string | null;
        devices: number;
        versions: { artifact: string; version: string; devices: number; percent: number }[];
      }[];
      const gwA = versions.find((v) => v.deviceType === 'gw-a');
      assert.ok(gwA && gwA.devices > 10);
      assert.equal(gwA.versions[0]?.artifact, 'base');
      assert.equal(gwA.versions[0]?.percent, 100);
      assert.ok(versions.some((v) => v.deviceType === null));
      const rates = (await t.app.inject({ url: `${API}/reports/deployments`, headers: bearer(admin) })).json() as {
        status: string;
        successRate: number | null;
        phases: { successRate: number | null }[];
      }[];
      const succeeded = rates.find((r) => r.status === 'succeeded' && r.phases.length === 3);
      assert.equal(succeeded?.successRate, 100);
      assert.ok(rates.some((r) => r.status === 'failed' && r.successRate !== null && r.successRate < 100));
      const quiet = await t.app.inject({ url: `${API}/reports/silent-devices?hours=1`, headers: bearer(admin) });
      assert.equal((quiet.json() as { total: number }).total, 0, 'every device called in the last hour');
      t.advance(3 * 3600_000);
      try {
        const later = (await t.app.inject({ url: `${API}/reports/silent-devices?hours=2`, headers: bearer(admin) })).json() as {
          total: number;
          devices: { lastSeenAt: string | null }[];
        };
        assert.ok(later.total > 10);
        assert.ok(later.devices.every((d) => d.lastSeenAt !== null));
      } finally {
        t.advance(-3 * 3600_000);
      }
    });
  });
}
