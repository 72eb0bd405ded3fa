import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { SlipwayError } from '@slipway/core';
import mqttPacket from 'mqtt-packet';

/** Where and as whom to connect; `mqtts://` is MQTT over TLS (the broker's certificate is always verified). */
export interface MqttOptions {
  /** `mqtt://host:1883` or `mqtts://host:8883`. */
  readonly url: string;
  readonly clientId: string;
  /** PEM CA bundle that must vouch for the broker (mqtts); the system's CAs when absent. */
  readonly ca?: string;
  /** Client certificate and key (PEM) for brokers that require one (mqtts). */
  readonly cert?: string;
  readonly key?: string;
  readonly username?: string;
  readonly password?: string;
  readonly keepaliveSeconds?: number;
  readonly connectTimeoutMs?: number;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

type Packet = mqttPacket.Packet;

const CONNACK_REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'broker unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** The broker's address from an mqtt:// or mqtts:// URL, or SLW_CONFIG_INVALID. */
export function brokerAddress(url: string): { tls: boolean; host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SlipwayError('SLW_CONFIG_INVALID', `MQTT broker URL ${url} is not a URL (mqtt://host:1883 or mqtts://host:8883)`);
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:')
    throw new SlipwayError('SLW_CONFIG_INVALID', `MQTT broker URL ${url}: use mqtt:// or mqtts://`);
  const tls = parsed.protocol === 'mqtts:';
  return { tls, host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port ? Number(parsed.port) : tls ? 8883 : 1883 };
}

/**
 * One MQTT 3.1.1 connection (the packet codec is mqtt-packet's): CONNECT and its CONNACK,
 * SUBSCRIBE, PUBLISH at QoS 0 or 1 (a QoS 1 publish resolves on the broker's PUBACK), incoming
 * publishes acknowledged, and a PINGREQ every keep-alive period: no answer within another period
 * and the connection is dropped. It does not reconnect (MqttClient does).
 */
export class MqttSession {
  private readonly pending = new Map<number, { resolve: (packet: Packet) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private handler: MessageHandler = () => {};
  private keepalive: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private ended: Error | null | undefined;
  private readonly closedPromise: Promise<Error | null>;
  private resolveClosed!: (reason: Error | null) => void;

  private constructor(private readonly socket: Socket) {
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** Resolves with the reason the connection ended (null for close()). */
  get closed(): Promise<Error | null> {
    return this.closedPromise;
  }

  static open(options: MqttOptions): Promise<MqttSession> {
    const address = brokerAddress(options.url);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = address.tls
        ? tlsConnect({
            host: address.host,
            port: address.port,
            servername: /^[\d.:]+$/.test(address.host) ? undefined : address.host,
            minVersion: 'TLSv1.2',
            rejectUnauthorized: true,
            ...(options.ca ? { ca: options.ca } : {}),
            ...(options.cert ? { cert: options.cert } : {}),
            ...(options.key ? { key: options.key } : {}),
          })
        : tcpConnect({ host: address.host, port: address.port });
      const session = new MqttSession(socket);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          err instanceof SlipwayError
            ? err
            : new SlipwayError('SLW_MQTT_CONNECT_FAILED', `MQTT broker ${options.url}: ${err.message}`, { cause: err }),
        );
      };
      const timer = setTimeout(() => fail(new Error(`no CONNACK within ${timeoutMs / 1000} s`)), timeoutMs);
      socket.once('error', fail);
      const closedEarly = () => fail(new Error('the broker closed the connection before accepting it'));
      socket.once('close', closedEarly);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let connected = false;
      parser.on('packet', (packet: Packet) => {
        if (connected) return session.receive(packet);
        if (packet.cmd !== 'connack') return fail(new Error(`expected CONNACK, got ${packet.cmd}`));
        const code = packet.returnCode ?? 0;
        if (code !== 0)
          return fail(
            new SlipwayError(
              'SLW_MQTT_CONNECT_FAILED',
              `MQTT broker ${options.url} refused the connection: ${CONNACK_REFUSALS[code] ?? `code ${code}`}`,
            ),
          );
        connected = true;
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('close', closedEarly);
        session.watch(options.keepaliveSeconds ?? 30);
        resolve(session);
      });
      parser.on('error', (err: Error) => (connected ? session.end(err) : fail(err)));
      socket.on('data', (chunk: Buffer) => parser.parse(chunk));
      socket.once(address.tls ? 'secureConnect' : 'connect', () => {
        socket.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: options.clientId,
            clean: true,
            keepalive: options.keepaliveSeconds ?? 30,
            ...(options.username !== undefined ? { username: options.username } : {}),
            ...(options.password !== undefined ? { password: Buffer.from(options.password, 'utf8') } : {}),
          }),
        );
      });
    });
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async subscribe(topics: readonly string[], qos: 0 | 1 = 1): Promise<void> {
    const messageId = this.id();
    // Sent first: a closed connection throws here, before anything waits for an answer.
    this.send({ cmd: 'subscribe', messageId, subscriptions: topics.map((topic) => ({ topic, qos })) });
    const suback = (await this.expect(messageId)) as mqttPacket.ISubackPacket;
    const refused = topics.filter((_, i) => suback.granted[i] === 0x80);
    if (refused.length > 0)
      throw new SlipwayError('SLW_MQTT_SUBSCRIBE_REFUSED', `the MQTT broker refused the subscription to ${refused.join(', ')}`);
  }

  /** Publishes; at QoS 1 it resolves once the broker acknowledged the message. */
  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    if (qos === 0) {
      this.send({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false });
      return;
    }
    const messageId = this.id();
    this.send({ cmd: 'publish', topic, payload, qos: 1, dup: false, retain: false, messageId });
    await this.expect(messageId);
  }

  /** DISCONNECT and close: `closed` then resolves with null. */
  async close(): Promise<void> {
    if (this.ended === undefined && !this.socket.destroyed) {
      this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    }
    this.end(null);
    await this.closedPromise;
  }

  private receive(packet: Packet): void {
    switch (packet.cmd) {
      case 'publish':
        if (packet.qos > 0 && packet.messageId !== undefined) this.send({ cmd: 'puback', messageId: packet.messageId });
        try {
          this.handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        } catch {
          // A handler's failure is its own; the connection goes on.
        }
        return;
      case 'puback':
      case 'suback':
        if (packet.messageId !== undefined) {
          this.pending.get(packet.messageId)?.resolve(packet);
          this.pending.delete(packet.messageId);
        }
        return;
      case 'pingresp':
        this.awaitingPong = false;
        return;
      default:
        return;
    }
  }

  private watch(keepaliveSeconds: number): void {
    this.socket.on('error', (err) => this.end(err));
    this.socket.on('close', () => this.end(new SlipwayError('SLW_MQTT_NOT_CONNECTED', 'the MQTT broker closed the connection')));
    if (keepaliveSeconds <= 0) return;
    this.keepalive = setInterval(() => {
      if (this.awaitingPong) return this.end(new SlipwayError('SLW_MQTT_NOT_CONNECTED', 'the MQTT broker stopped answering pings'));
      this.awaitingPong = true;
      this.send({ cmd: 'pingreq' });
    }, keepaliveSeconds * 1000);
    this.keepalive.unref();
  }

  private end(reason: Error | null): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    if (this.keepalive) clearInterval(this.keepalive);
    if (reason) this.socket.destroy();
    const error = reason ?? new SlipwayError('SLW_MQTT_NOT_CONNECTED', 'the MQTT connection was closed');
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
    this.resolveClosed(reason);
  }

  private send(packet: Packet): void {
    if (this.ended !== undefined) throw new SlipwayError('SLW_MQTT_NOT_CONNECTED', 'the MQTT connection is closed');
    this.socket.write(mqttPacket.generate(packet));
  }

  private expect(messageId: number): Promise<Packet> {
    return new Promise((resolve, reject) => this.pending.set(messageId, { resolve, reject }));
  }

  private id(): number {
    const id = this.nextId;
    this.nextId = id === 0xffff ? 1 : id + 1;
    return id;
  }
}
