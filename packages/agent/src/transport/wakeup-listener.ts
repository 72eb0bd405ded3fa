import { readFile } from 'node:fs/promises';
import { assertOwnerOnly, fileError, readSecretFile } from '@slipway/core';
import type { MqttClient } from '@slipway/mqtt';
import type { AgentConfig } from '../config/agent-config.js';

async function ownerOnly(path: string): Promise<string> {
  const { bytes, mode } = await readSecretFile(path);
  assertOwnerOnly(path, mode);
  return bytes.toString('utf8');
}

async function text(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw fileError(err, path, 'read');
  }
}

/**
 * Subscribes to this device's wake-up topic (`PREFIX/devices/DEVICE_ID/wake`) and calls `onWake`
 * for every message. A wake-up only makes the agent poll now: it carries no authority, so nothing
 * in it is trusted or even read. Over mqtts the device presents its certificate and key when it
 * has both (brokers that map certificates to users can then confine each device to its topic).
 * The client reconnects by itself; the agent goes on polling at its interval meanwhile.
 */
export async function startWakeupListener(
  config: AgentConfig,
  deviceId: string,
  onWake: () => void,
  log: (line: string) => void,
): Promise<MqttClient | null> {
  const mqtt = config.mqtt;
  if (!mqtt) return null;
  const tls = mqtt.url.startsWith('mqtts:');
  const { keyFile, certificateFile } = config.device;
  // Loaded only by devices that use MQTT: the others do not pay for the codec in memory.
  const { MqttClient } = await import('@slipway/mqtt');
  const client = new MqttClient(
    {
      url: mqtt.url,
      clientId: `slipway-${deviceId}`,
      ...(mqtt.caFile ? { ca: await text(mqtt.caFile) } : {}),
      ...(tls && keyFile && certificateFile ? { cert: await text(certificateFile), key: await ownerOnly(keyFile) } : {}),
      ...(mqtt.username ? { username: mqtt.username } : {}),
      ...(mqtt.passwordFile ? { password: (await ownerOnly(mqtt.passwordFile)).trim() } : {}),
    },
    {
      onMessage: () => onWake(),
      onConnected: () => log(`MQTT: listening for wake-ups on ${mqtt.topicPrefix}/devices/${deviceId}/wake`),
      onDisconnected: (reason, retryInMs) =>
        log(`MQTT: ${reason.message}; trying again in ${Math.round(retryInMs / 1000)} s (polling goes on meanwhile)`),
    },
  );
  await client.subscribe(`${mqtt.topicPrefix}/devices/${deviceId}/wake`);
  await client.start();
  return client;
}
