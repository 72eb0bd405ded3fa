// MQTT wake-ups through the machine's Mosquitto: when a phase starts, exactly its devices that
// have not started are told, on their own topics; a broker that is down loses wake-ups, not the rollout.
import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { MqttClient, MqttSession } from '@slipway/mqtt';
import { portOpen } from '@slipway/testkit';
import { ADMIN_PASSWORD, API, bearer, login, testApp } from './support/app.js';
import { DIALECTS } from './support/databases.js';
import { testCa } from './support/device.js';
import { admitFleet, eventually, trustRelease, uploadArtifact } from './support/fleet.js';

const BROKER = 'mqtt://127.0.0.1:1883';

for (const [name, make] of DIALECTS) {
  describe(`MQTT wake-ups on ${name}`, () => {
    test('each phase that starts wakes its devices, on their own topics, and no others', async (t) => {
      if (!(await portOpen(1883))) {
        if (process.env.CI === 'true') assert.fail('Mosquitto is required in CI but 127.0.0.1:1883 is unreachable');
        return t.skip('Mosquitto is not running here (CI=true makes this a failure)');
      }
      const target = await make();
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const prefix = `slipway-test-${randomUUID()}`;
      const publisher = new MqttClient({ url: BROKER, clientId: `server-${randomUUID()}` });
      await publisher.start();
      const listener = await MqttSession.open({ url: BROKER, clientId: `listener-${randomUUID()}` });
      const woken: string[] = [];
      listener.onMessage((topic, payload) => {
        assert.equal(payload.toString(), '{"reason":"deployment"}');
        woken.push(topic.split('/')[2] as string);
      });
      await listener.subscribe([`${prefix}/devices/+/wake`]);
      const factory = await testCa('Factory');
      const app = await testApp(target, {
        manufacturingCas: [new X509Certificate(factory.cert)],
        wakeups: { publisher, topicPrefix: prefix },
      });
      try {
        const admin = await login(app.app, 'admin', ADMIN_PASSWORD);
        const release = await trustRelease(app.app, admin);
        await uploadArtifact(app.app, admin, target.config.dataDir, release, 'gateway-os', '3.0', ['gw-w']);
        const fleet = await admitFleet(app.app, factory, `GW-WAKE-${name}`, 4, 'gw-w');
        const created = await app.app.inject({
          method: 'POST',
          url: `${API}/deployments`,
          headers: bearer(admin),
          payload: { artifact: 'gateway-os@3.0', devices: fleet.map((d) => d.id), phases: ['50%', '100%'], approval: 'manual' },
        });
        assert.equal(created.statusCode, 201, created.body);
        const id = (created.json() as { id: string }).id;
        const phaseOf = async (phase: number) => {
          const r = await app.app.inject({ url: `${API}/deployments/${id}/devices?phase=${phase}`, headers: bearer(admin) });
          return (r.json() as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId).sort();
        };
        const first = await phaseOf(1);
        assert.equal(first.length, 2);
        await eventually(
          async () => [...woken].sort(),
          (w) => w.length >= 2,
          'phase 1 wake-ups',
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual([...woken].sort(), first, 'phase 1 woke exactly its devices');

        const advanced = await app.app.inject({ method: 'POST', url: `${API}/deployments/${id}/advance`, headers: bearer(admin) });
        assert.equal(advanced.statusCode, 200, advanced.body);
        await eventually(
          async () => woken.length,
          (n) => n >= 4,
          'phase 2 wake-ups',
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(woken.slice(2).sort(), await phaseOf(2), 'phase 2 woke exactly its devices');
        assert.deepEqual([...woken].sort(), fleet.map((d) => d.id).sort());

        // A broker that is gone: the rollout goes on, the wake-ups are lost (devices poll).
        await publisher.stop();
        const second = await app.app.inject({
          method: 'POST',
          url: `${API}/deployments`,
          headers: bearer(admin),
          payload: { artifact: 'gateway-os@3.0', devices: [fleet[0]?.id], phases: ['100%'] },
        });
        assert.equal(second.statusCode, 201, second.body);
      } finally {
        await app.close();
        await listener.close();
        await publisher.stop();
        await target.cleanup();
      }
    });
  });
}
