// The MQTT client against real brokers: the Mosquitto service of the machine, and Mosquitto
// brokers of the test's own for TLS, client certificates and a broker that dies and comes back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { portOpen, type RunningMosquitto, startMosquitto } from '@slipway/testkit';
import { brokerAddress, MqttClient, MqttSession } from '../src/index.js';

const SERVICE = 'mqtt://127.0.0.1:1883';

/** The next message on `session`, or a failure after `ms`. */
function nextMessage(session: { onMessage(h: (topic: string, payload: Buffer) => void): void }, ms = 5000) {
  return new Promise<{ topic: string; payload: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
    session.onMessage((topic, payload) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString('utf8') });
    });
  });
}

test('a QoS 1 message published through the machine’s Mosquitto reaches a subscriber', async (t) => {
  if (!(await portOpen(1883))) {
    if (process.env.CI === 'true') assert.fail('Mosquitto is required in CI but 127.0.0.1:1883 is unreachable');
    return t.skip('Mosquitto is not running here (CI=true makes this a failure)');
  }
  const topic = `slipway-test/${randomUUID()}/wake`;
  const subscriber = await MqttSession.open({ url: SERVICE, clientId: `sub-${randomUUID()}` });
  const publisher = await MqttSession.open({ url: SERVICE, clientId: `pub-${randomUUID()}` });
  try {
    await subscriber.subscribe([topic]);
    const received = nextMessage(subscriber);
    await publisher.publish(topic, '{"reason":"deployment"}', 1);
    assert.deepEqual(await received, { topic, payload: '{"reason":"deployment"}' });
  } finally {
    await subscriber.close();
    await publisher.close();
  }
});

test('a broker URL that is not mqtt:// or mqtts:// is a configuration error', () => {
  assert.throws(() => brokerAddress('http://broker:1883'), { code: 'SLW_CONFIG_INVALID' });
  assert.throws(() => brokerAddress('not a url'), { code: 'SLW_CONFIG_INVALID' });
  assert.deepEqual(brokerAddress('mqtts://broker.example'), { tls: true, host: 'broker.example', port: 8883 });
});

describe('MQTT over TLS with client certificates', () => {
  let broker: RunningMosquitto;
  before(async () => {
    broker = await startMosquitto({ tls: true, requireCertificate: true });
  });
  after(() => broker.stop());

  test('a client with a certificate from the broker’s CA connects and exchanges messages', async () => {
    const ca = broker.ca as string;
    const device = await MqttSession.open({ url: broker.url, clientId: 'gw-1', ca, ...(await broker.clientCertificate('gw-1')) });
    const server = await MqttSession.open({ url: broker.url, clientId: 'server', ca, ...(await broker.clientCertificate('server')) });
    try {
      await device.subscribe(['slipway/devices/gw-1/wake']);
      const received = nextMessage(device);
      await server.publish('slipway/devices/gw-1/wake', 'poke');
      assert.equal((await received).payload, 'poke');
    } finally {
      await device.close();
      await server.close();
    }
  });

  test('no client certificate, or a broker the CA does not vouch for, fails with SLW_MQTT_CONNECT_FAILED', async () => {
    await assert.rejects(MqttSession.open({ url: broker.url, clientId: 'anonymous', ca: broker.ca as string, connectTimeoutMs: 3000 }), {
      code: 'SLW_MQTT_CONNECT_FAILED',
    });
    // The system's CAs do not know the test CA: the broker is not trusted, whatever it presents.
    await assert.rejects(MqttSession.open({ url: broker.url, clientId: 'trusting-nobody', ...(await broker.clientCertificate('x')) }), {
      code: 'SLW_MQTT_CONNECT_FAILED',
    });
  });
});

test('the client reconnects after the broker died, subscribes again, and publishing meanwhile fails at once', async () => {
  const broker = await startMosquitto();
  const events: string[] = [];
  const received: string[] = [];
  const client = new MqttClient(
    { url: broker.url, clientId: `client-${randomUUID()}`, keepaliveSeconds: 1 },
    {
      onMessage: (_topic, payload) => received.push(payload.toString('utf8')),
      onConnected: () => events.push('connected'),
      onDisconnected: (reason) => events.push(`lost: ${(reason as { code?: string }).code ?? reason.message}`),
    },
  );
  const publisher = () => MqttSession.open({ url: broker.url, clientId: `pub-${randomUUID()}` });
  try {
    await client.start();
    assert.equal(client.connected, true);
    await client.subscribe('slipway/devices/a/wake');
    let pub = await publisher();
    await pub.publish('slipway/devices/a/wake', 'first');
    await pub.close();
    await waitFor(() => received.includes('first'), 'the first message');

    await broker.kill();
    await waitFor(() => !client.connected, 'the client to notice the broker is gone');
    await assert.rejects(client.publish('slipway/devices/a/wake', 'lost'), { code: 'SLW_MQTT_NOT_CONNECTED' });
    await broker.restart();
    await waitFor(() => client.connected, 'the client to reconnect', 15_000);
    pub = await publisher();
    await pub.publish('slipway/devices/a/wake', 'second');
    await pub.close();
    await waitFor(() => received.includes('second'), 'a message after the reconnection');
    assert.equal(events[0], 'connected');
    assert.ok(events.filter((e) => e === 'connected').length >= 2, events.join(', '));
    assert.ok(
      events.some((e) => e.startsWith('lost: ')),
      events.join(', '),
    );
  } finally {
    await client.stop();
    await broker.stop();
  }
});

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
