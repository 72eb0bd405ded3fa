import { Agent, request } from 'node:https';

export interface JsonReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

export interface HttpsJsonClient {
  call(
    method: string,
    path: string,
    options?: { body?: Buffer; headers?: Record<string, string>; localAddress?: string },
  ): Promise<JsonReply>;
  close(): void;
}

/**
 * A small JSON-over-HTTPS client pinned to one CA, with a keep-alive agent so a simulated device
 * holds its connection like a real agent does. Optional client certificate for mutual TLS.
 */
export function httpsJsonClient(
  baseUrl: string,
  ca: string,
  options: { maxSockets?: number; clientCertificate?: { cert: string; key: string } } = {},
): HttpsJsonClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 1, ca, ...(options.clientCertificate ?? {}) });
  return {
    call(method, path, { body, headers, localAddress } = {}) {
      return new Promise((resolve, reject) => {
        const req = request(
          new URL(path, baseUrl),
          {
            method,
            agent,
            headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
            ...(localAddress ? { localAddress } : {}),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = text ? JSON.parse(text) : undefined;
              } catch {
                // Not JSON: the caller sees the text.
              }
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
