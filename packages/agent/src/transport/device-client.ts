import { Agent, request } from 'node:https';
import {
  DEVICE_SIGNATURE_HEADER,
  type DeploymentOffer,
  type DeviceIdentity,
  ERROR_CODES,
  type ErrorCode,
  newNonce,
  PAYLOAD_TYPE_DEVICE_AUTH,
  type Signer,
  SlipwayError,
  signDeviceRequest,
} from '@slipway/core';

export type { DeploymentOffer } from '@slipway/core';

export const DEVICE_API = '/api/devices/v1';

export interface DeviceClientOptions {
  /** https://host:port of the server. */
  readonly url: string;
  /** PEM of the CA the server must chain to (pinned). */
  readonly ca: string;
  readonly identity: DeviceIdentity;
  readonly signer: Signer;
  readonly publicKeyPem: string;
  /** Manufacturing certificate: sent with authentication, and as the TLS client certificate with mutual TLS. */
  readonly certificate?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly clientCertificate?: { readonly cert: string; readonly key: string };
  /** Per request (default 30 s): a server that stops answering is unreachable, not a hang. */
  readonly timeoutMs?: number;
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

const TLS_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME|ALTNAME/;

/**
 * The device side of the device API: signed authentication with the device key, a bearer token
 * renewed when it expires, and the few calls an agent makes. Every failure is a coded error;
 * network trouble is retryable (SLW_SERVER_UNREACHABLE), a server's own error keeps its code.
 */
export class DeviceClient {
  private readonly agent: Agent;
  private token: string | undefined;
  private id: string | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: DeviceClientOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 2, ca: options.ca, ...(options.clientCertificate ?? {}) });
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** For downloads: the same CA and client certificate. */
  get tls(): { readonly ca: string; readonly clientCertificate?: { readonly cert: string; readonly key: string } } {
    return { ca: this.options.ca, ...(this.options.clientCertificate ? { clientCertificate: this.options.clientCertificate } : {}) };
  }

  /** Signs a fresh authentication request; SLW_DEVICE_PENDING (retryable) while the device awaits admission. */
  async authenticate(): Promise<void> {
    const { body, signature } = await signDeviceRequest(this.options.signer, PAYLOAD_TYPE_DEVICE_AUTH, {
      identity: this.options.identity,
      publicKey: this.options.publicKeyPem,
      timestamp: new Date().toISOString(),
      nonce: newNonce(),
      ...(this.options.certificate ? { certificate: this.options.certificate } : {}),
    });
    const reply = await this.send('POST', `${DEVICE_API}/auth`, body, {
      'content-type': 'application/json',
      [DEVICE_SIGNATURE_HEADER]: signature,
    });
    const session = this.json(reply) as { token?: unknown; deviceId?: unknown };
    if (typeof session?.token !== 'string')
      throw new SlipwayError('SLW_SERVER_RESPONSE', 'the server answered authentication without a token');
    this.token = session.token;
    if (typeof session.deviceId === 'string') this.id = session.deviceId;
  }

  /** The id the server gave this device, known once it authenticated. */
  get deviceId(): string | undefined {
    return this.id;
  }

  /** Headers of an authenticated request, authenticating first when there is no token. */
  async authorization(): Promise<Record<string, string>> {
    if (!this.token) await this.authenticate();
    return { authorization: `Bearer ${this.token}` };
  }

  /** The device as the server sees it: proves the server is reachable and accepts this device. */
  async checkIn(): Promise<{ id: string; status: string }> {
    return this.json(await this.call('GET', '/device')) as { id: string; status: string };
  }

  async reportInventory(attributes: Readonly<Record<string, string>>): Promise<void> {
    await this.call('PUT', '/inventory', { json: { attributes } });
  }

  /** The deployment to work on, or null when there is none. */
  async nextDeployment(): Promise<DeploymentOffer | null> {
    const reply = await this.call('GET', '/deployments/next');
    return reply.status === 204 ? null : (this.json(reply) as DeploymentOffer);
  }

  /** One step of a deployment; `proceed: false` means stop (the server aborted it). */
  async reportStatus(
    deploymentId: string,
    attempt: number,
    status: string,
    extra: { progress?: number; message?: string } = {},
  ): Promise<{ proceed: boolean }> {
    const reply = await this.call('PUT', `/deployments/${deploymentId}/status`, { json: { attempt, status, ...extra } });
    return this.json(reply) as { proceed: boolean };
  }

  async uploadLog(deploymentId: string, attempt: number, text: string): Promise<void> {
    await this.call('PUT', `/deployments/${deploymentId}/logs?attempt=${attempt}`, { text });
  }

  /** A root of the rotation chain, or null when the server has no such version. */
  async rootDocument(version: number): Promise<Uint8Array | null> {
    try {
      const reply = await this.call('GET', `/trust/roots/${version}`);
      return Buffer.from(reply.text, 'utf8');
    } catch (err) {
      if (err instanceof SlipwayError && err.details?.httpStatus === 404) return null;
      throw err;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  /** An authenticated call; on 401 the device authenticates again once (the token expired). */
  private async call(method: string, path: string, body: { json?: unknown; text?: string } = {}): Promise<Reply> {
    const payload =
      body.json !== undefined ? Buffer.from(JSON.stringify(body.json)) : body.text !== undefined ? Buffer.from(body.text) : undefined;
    const contentType = body.json !== undefined ? 'application/json' : body.text !== undefined ? 'text/plain; charset=utf-8' : undefined;
    const send = async () =>
      this.send(method, `${DEVICE_API}${path}`, payload, {
        ...(await this.authorization()),
        ...(contentType ? { 'content-type': contentType } : {}),
      });
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof SlipwayError) || err.code !== 'SLW_DEVICE_TOKEN_INVALID') throw err;
      this.token = undefined;
      return send();
    }
  }

  private send(method: string, path: string, body: Buffer | undefined, headers: Record<string, string>): Promise<Reply> {
    const url = new URL(path, this.options.url);
    return new Promise<Reply>((resolve, reject) => {
      const req = request(
        url,
        { method, agent: this.agent, timeout: this.timeoutMs, headers: { accept: 'application/json', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (d: Buffer) => {
            size += d.length;
            // No device API answer is anywhere near this: a server that sends more is not ours.
            if (size > 4 * 1024 * 1024) res.destroy(new Error('answer too large'));
            else chunks.push(d);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    }).then(
      (reply) => {
        if (reply.status >= 200 && reply.status < 300) return reply;
        throw this.failure(reply, url);
      },
      (err: NodeJS.ErrnoException) => {
        const code = String(err.code ?? err.message);
        if (TLS_ERRORS.test(code))
          throw new SlipwayError(
            'SLW_SERVER_TLS_UNTRUSTED',
            `${url.host} presented a certificate the pinned CA does not vouch for (${code})`,
            {
              cause: err,
            },
          );
        throw new SlipwayError('SLW_SERVER_UNREACHABLE', `cannot reach ${url.host} (${code})`, { cause: err });
      },
    );
  }

  private failure(reply: Reply, url: URL): SlipwayError {
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = (JSON.parse(reply.text) as { error?: { code?: unknown; message?: unknown } }).error;
    } catch {
      error = undefined;
    }
    const retryAfter = Number(reply.headers['retry-after']);
    const details = Number.isFinite(retryAfter)
      ? { retryAfterSeconds: retryAfter, httpStatus: reply.status }
      : { httpStatus: reply.status };
    if (error && typeof error.code === 'string' && Object.hasOwn(ERROR_CODES, error.code)) {
      return new SlipwayError(error.code as ErrorCode, String(error.message ?? error.code).slice(0, 500), { details });
    }
    return new SlipwayError('SLW_SERVER_RESPONSE', `${url.host} answered ${url.pathname} with HTTP ${reply.status}`, { details });
  }

  private json(reply: Reply): unknown {
    try {
      return JSON.parse(reply.text);
    } catch {
      throw new SlipwayError('SLW_SERVER_RESPONSE', `the server answered HTTP ${reply.status} with something that is not JSON`);
    }
  }
}
