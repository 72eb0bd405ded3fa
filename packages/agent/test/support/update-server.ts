import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '@slipway/server';
import { type HttpsJsonClient, httpsJsonClient } from '@slipway/testkit';

const API = '/api/management/v1';
const ADMIN_PASSWORD = 'agent tests admin password';

/**
 * A real Slipway server on loopback, driven through its management API as an operator would:
 * trust root, artifacts, preauthorized devices, deployments, and what each device reported.
 */
export class UpdateServer {
  private constructor(
    private readonly server: RunningServer,
    private readonly client: HttpsJsonClient,
    private readonly token: string,
    readonly ca: string,
  ) {}

  static async start(dir: string, config: Record<string, unknown> = {}): Promise<UpdateServer> {
    const configFile = join(dir, 'server.json');
    // The rollout engine looks often, so a device's outcome shows within the test's patience.
    await writeFile(configFile, JSON.stringify({ deployments: { engineIntervalMs: 100 }, ...config }));
    const loaded = await loadServerConfig({ configFile, dataDir: join(dir, 'server-data'), listen: '127.0.0.1:0' }, {});
    const server = await startServer(loaded, { logger: createLogger('silent'), adminPassword: ADMIN_PASSWORD });
    const ca = await readFile(server.caFile as string, 'utf8');
    const client = httpsJsonClient(server.url, ca, { maxSockets: 4 });
    const login = await client.call('POST', `${API}/auth/login`, {
      body: Buffer.from(JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD })),
    });
    if (login.status !== 200) throw new Error(`login: HTTP ${login.status}`);
    return new UpdateServer(server, client, (login.body as { token: string }).token, ca);
  }

  get url(): string {
    return this.server.url;
  }

  get caFile(): string {
    return this.server.caFile as string;
  }

  async api<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const reply = await this.client.call(method, `${API}${path}`, {
      ...(bytes ? { body: bytes } : {}),
      headers: { authorization: `Bearer ${this.token}`, ...(bytes ? { 'content-type': contentType } : {}) },
    });
    if (reply.status >= 300) throw new Error(`${method} ${path}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as T;
  }

  uploadRoot(root: Uint8Array): Promise<unknown> {
    return this.api('POST', '/trust/roots', Buffer.from(root));
  }

  async uploadArtifact(file: string): Promise<string> {
    return (await this.api<{ id: string }>('POST', '/artifacts', await readFile(file), 'application/octet-stream')).id;
  }

  preauthorize(identity: Record<string, string>, publicKey: string): Promise<unknown> {
    return this.api('POST', '/devices/preauthorize', { devices: [{ identity, publicKey }] });
  }

  /** The id of the device with this serial, once it has called in. */
  async deviceId(serial: string): Promise<string | null> {
    // Filtered by the server: a fleet of more than a page of devices (the power-cut harness) still finds it.
    const page = await this.api<{ devices: { id: string; identity: Record<string, string> }[] }>(
      'GET',
      `/devices?perPage=500&attr.serial=${encodeURIComponent(serial)}`,
    );
    return page.devices.find((d) => d.identity.serial === serial)?.id ?? null;
  }

  async deploy(artifact: string, devices: readonly string[], options: Record<string, unknown> = {}): Promise<string> {
    return (await this.api<{ id: string }>('POST', '/deployments', { artifact, devices, ...options })).id;
  }

  async deviceStatus(deploymentId: string, deviceId: string): Promise<string | null> {
    const page = await this.api<{ devices: { deviceId: string; status: string }[] }>('GET', `/deployments/${deploymentId}/devices`);
    return page.devices.find((d) => d.deviceId === deviceId)?.status ?? null;
  }

  abort(deploymentId: string): Promise<unknown> {
    return this.api('POST', `/deployments/${deploymentId}/abort`, {});
  }

  async deviceLog(deploymentId: string, deviceId: string): Promise<string | null> {
    const reply = await this.client.call('GET', `${API}/deployments/${deploymentId}/devices/${deviceId}/logs`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (reply.status !== 200) return null;
    return (reply.body as { log: string }[]).map((entry) => entry.log).join('\n');
  }

  async inventory(deviceId: string): Promise<Record<string, string>> {
    const device = await this.api<{ inventory?: Record<string, string>; attributes?: Record<string, string> }>(
      'GET',
      `/devices/${deviceId}`,
    );
    return device.inventory ?? device.attributes ?? {};
  }

  async close(): Promise<void> {
    this.client.close();
    await this.server.close();
  }
}
