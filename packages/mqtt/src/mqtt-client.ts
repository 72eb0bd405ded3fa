import { SlipwayError } from '@slipway/core';
import { type MessageHandler, type MqttOptions, MqttSession } from './mqtt-session.js';

export interface MqttClientEvents {
  /** A message on a subscribed topic. */
  readonly onMessage?: MessageHandler;
  /** Connected (again), or lost with the reason and the wait before the next try: for the log. */
  readonly onConnected?: () => void;
  readonly onDisconnected?: (reason: Error, retryInMs: number) => void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/**
 * An MQTT connection kept up: it reconnects after a loss with exponential back-off (1 s doubling
 * to a minute) and subscribes again to every topic it was given. Publishing while disconnected
 * fails at once with SLW_MQTT_NOT_CONNECTED rather than queueing: its users send wake-up hints,
 * which a device makes up for at its next polling round anyway.
 */
export class MqttClient {
  private session: MqttSession | null = null;
  private readonly topics = new Set<string>();
  private stopped = false;
  private wakeRetry: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly options: MqttOptions,
    private readonly events: MqttClientEvents = {},
  ) {}

  get connected(): boolean {
    return this.session !== null;
  }

  /** Starts connecting; resolves once the first attempt ended (connected or not). */
  start(): Promise<void> {
    let firstAttempt!: () => void;
    const first = new Promise<void>((resolve) => {
      firstAttempt = resolve;
    });
    this.loop ??= this.run(firstAttempt);
    return first;
  }

  /** Subscribes now if connected, and after every reconnection. */
  async subscribe(topic: string): Promise<void> {
    this.topics.add(topic);
    await this.session?.subscribe([topic]);
  }

  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    if (!this.session) throw new SlipwayError('SLW_MQTT_NOT_CONNECTED', `not connected to the MQTT broker ${this.options.url}`);
    await this.session.publish(topic, payload, qos);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeRetry?.();
    await this.session?.close();
    await this.loop;
  }

  private async run(firstAttempt: () => void): Promise<void> {
    for (let failures = 0; !this.stopped; ) {
      let reason: Error;
      try {
        const session = await MqttSession.open(this.options);
        if (this.events.onMessage) session.onMessage(this.events.onMessage);
        if (this.topics.size > 0)
          await session.subscribe([...this.topics]).catch(async (err) => {
            await session.close();
            throw err;
          });
        if (this.stopped) {
          await session.close();
          break;
        }
        this.session = session;
        failures = 0;
        this.events.onConnected?.();
        firstAttempt();
        reason = (await session.closed) ?? new SlipwayError('SLW_MQTT_NOT_CONNECTED', 'closed');
        this.session = null;
      } catch (err) {
        reason = err instanceof Error ? err : new Error(String(err));
      }
      firstAttempt();
      if (this.stopped) break;
      failures++;
      const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 16));
      this.events.onDisconnected?.(reason, wait);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref();
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = null;
    }
  }
}
