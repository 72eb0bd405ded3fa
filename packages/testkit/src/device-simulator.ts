import {
  DEVICE_SIGNATURE_HEADER,
  type DeviceIdentity,
  fileKeySigner,
  type GeneratableKeyType,
  generateKeyPair,
  newNonce,
  PAYLOAD_TYPE_DEVICE_AUTH,
  parsePrivateKey,
  type Signer,
  signDeviceRequest,
} from '@slipway/core';
import { type HttpsJsonClient, httpsJsonClient, type JsonReply } from './https-json.js';

export const DEVICE_API = '/api/devices/v1';

export interface SimulatedDeviceOptions {
  /** Server base URL, e.g. https://localhost:8443. */
  readonly server: string;
  /** PEM of the CA that pins the server. */
  readonly ca: string;
  readonly identity: DeviceIdentity;
  /** PKCS#8 PEM; a new key of `keyType` when absent. */
  readonly privateKeyPem?: string;
  readonly keyType?: GeneratableKeyType;
  /** Manufacturing certificate sent with authentication (zero-touch admission). */
  readonly certificate?: string;
  /** Present the certificate as a TLS client certificate too (mutual TLS). */
  readonly mutualTls?: boolean;
  /** Source address to connect from (127.0.0.x on loopback), to look like many hosts. */
  readonly localAddress?: string;
}

/**
 * One device as the server sees it: its own key, its own TLS connection, the real device API.
 * Tests, benchmarks and the demo run many of these against a real server.
 */
export class SimulatedDevice {
  readonly identity: DeviceIdentity;
  readonly publicKeyPem: string;
  private readonly signer: Signer;
  private readonly client: HttpsJsonClient;
  private token: string | undefined;

  constructor(private readonly options: SimulatedDeviceOptions) {
    const pem = options.privateKeyPem ?? generateKeyPair(options.keyType ?? 'ecdsa-p256').privatePem;
    const key = parsePrivateKey(pem);
    this.signer = fileKeySigner(key);
    this.identity = options.identity;
    this.publicKeyPem = key.publicKey.pem;
    this.client = httpsJsonClient(options.server, options.ca, {
      ...(options.mutualTls && options.certificate ? { clientCertificate: { cert: options.certificate, key: pem } } : {}),
    });
  }

  get authenticated(): boolean {
    return this.token !== undefined;
  }

  /** One signed authentication request; keeps the token when accepted. */
  async authenticate(): Promise<JsonReply> {
    const { body, signature } = await signDeviceRequest(this.signer, PAYLOAD_TYPE_DEVICE_AUTH, {
      identity: this.identity,
      publicKey: this.publicKeyPem,
      timestamp: new Date().toISOString(),
      nonce: newNonce(),
      ...(this.options.certificate ? { certificate: this.options.certificate } : {}),
    });
    const reply = await this.client.call('POST', `${DEVICE_API}/auth`, {
      body,
      headers: { [DEVICE_SIGNATURE_HEADER]: signature },
      ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
    });
    this.token = reply.status === 200 ? (reply.body as { token: string }).token : undefined;
    return reply;
  }

  /** The device token (for tools like wrk that drive check-ins themselves). */
  get bearer(): string | undefined {
    return this.token;
  }

  /** An authenticated request; on 401 the device re-authenticates once and retries, as the agent does. */
  async call(method: string, path: string, body?: unknown): Promise<JsonReply> {
    const send = () =>
      this.client.call(method, `${DEVICE_API}${path}`, {
        ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
        headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
        ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
      });
    if (!this.token) await this.authenticate();
    const reply = await send();
    if (reply.status !== 401) return reply;
    if ((await this.authenticate()).status !== 200) return reply;
    return send();
  }

  /** A check-in: who am I, as the server sees me now. */
  checkIn(): Promise<JsonReply> {
    return this.call('GET', '/device');
  }

  reportInventory(attributes: Readonly<Record<string, string>>): Promise<JsonReply> {
    return this.call('PUT', '/inventory', { attributes });
  }

  /** Anything for me? 200 with the deployment to work on, 204 when there is none. */
  nextDeployment(): Promise<JsonReply> {
    return this.call('GET', '/deployments/next');
  }

  /** One step of a deployment, for the attempt the offer named. */
  reportStatus(
    deploymentId: string,
    attempt: number,
    status: string,
    extra: { progress?: number; message?: string } = {},
  ): Promise<JsonReply> {
    return this.call('PUT', `/deployments/${deploymentId}/status`, { attempt, status, ...extra });
  }

  /** Runs the offered deployment's steps to `outcome` without installing anything (simulation). */
  async runDeployment(outcome: 'success' | 'failure' = 'success'): Promise<string | null> {
    const offer = await this.nextDeployment();
    if (offer.status !== 200) return null;
    const { id, attempt } = offer.body as { id: string; attempt: number };
    const steps =
      outcome === 'success'
        ? ['downloading', 'installing', 'rebooting', 'committing', 'success']
        : ['downloading', 'installing', 'failure'];
    for (const step of steps) {
      const reply = await this.reportStatus(id, attempt, step);
      if (reply.status !== 200) throw new Error(`${step}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return id;
  }

  close(): void {
    this.client.close();
  }
}
