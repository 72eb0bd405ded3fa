import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SlipwayError } from '@slipway/core';
import { MqttClient } from '@slipway/mqtt';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';

async function readConfigured(path: string, what: string): Promise<string | undefined> {
  if (path === '') return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new SlipwayError('SLW_CONFIG_INVALID', `mqtt.${what} ${path} cannot be read`, { cause: err });
  }
}

/**
 * The server's MQTT connection for wake-ups, started when `mqtt.url` is set. The server starts
 * whether or not the broker answers: the client keeps reconnecting, and the log says when it is
 * connected and when it lost the broker. Null when MQTT is off.
 */
export async function startMqttPublisher(config: ServerConfig['mqtt'], logger: Logger): Promise<MqttClient | null> {
  if (config.url === '') return null;
  const [ca, cert, key, password] = await Promise.all([
    readConfigured(config.caFile, 'caFile'),
    readConfigured(config.certFile, 'certFile'),
    readConfigured(config.keyFile, 'keyFile'),
    readConfigured(config.passwordFile, 'passwordFile'),
  ]);
  const client = new MqttClient(
    {
      url: config.url,
      clientId: `slipway-server-${hostname()}-${process.pid}`.slice(0, 64),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(config.username ? { username: config.username } : {}),
      ...(password ? { password: password.trim() } : {}),
    },
    {
      onConnected: () => logger.info({ topicPrefix: config.topicPrefix }, 'MQTT broker connected: devices get wake-ups'),
      onDisconnected: (reason, retryInMs) =>
        logger.warn({ err: reason, retryInSeconds: retryInMs / 1000 }, 'MQTT broker unreachable: devices find deployments by polling'),
    },
  );
  await client.start();
  return client;
}
