// A device talking to a real server over HTTPS (pinned CA): just enough of the device protocol
// for the CLI tests to create pending and accepted devices.
import { request } from 'node:https';
import {
  DEVICE_SIGNATURE_HEADER,
  fileKeySigner,
  generateKeyPair,
  newNonce,
  PAYLOAD_TYPE_DEVICE_AUTH,
  parsePrivateKey,
  signDeviceRequest,
} from '@slipway/core';

export interface SimpleDevice {
  readonly identity: Record<string, string>;
  readonly publicPem: string;
  authenticate(): Promise<{ status: number; body: { token?: string; deviceId?: string; error?: { code: string } } }>;
  /** Authenticates and reports inventory (device_type among it), as an agent does once admitted. */
  reportInventory(attributes: Record<string, string>): Promise<number>;
}

type Answer = { status: number; body: { token?: string; deviceId?: string; error?: { code: string } } };

function call(
  serverUrl: string,
  ca: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, serverUrl), { method, ca, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A device with a new key, or with the key (and certificate) of a provisioned bundle. */
export function simpleDevice(
  serverUrl: string,
  ca: string,
  serial: string,
  bundle?: { privatePem: string; certificate: string },
): SimpleDevice {
  const privateKey = parsePrivateKey(bundle?.privatePem ?? generateKeyPair('ecdsa-p256').privatePem);
  const signer = fileKeySigner(privateKey);
  const pair = { publicKey: privateKey.publicKey };
  const identity = { serial };
  return {
    identity,
    publicPem: pair.publicKey.pem,
    async authenticate() {
      const { body, signature } = await signDeviceRequest(signer, PAYLOAD_TYPE_DEVICE_AUTH, {
        identity,
        publicKey: pair.publicKey.pem,
        timestamp: new Date().toISOString(),
        nonce: newNonce(),
        ...(bundle ? { certificate: bundle.certificate } : {}),
      });
      return call(serverUrl, ca, 'POST', '/api/devices/v1/auth', { [DEVICE_SIGNATURE_HEADER]: signature }, body);
    },
    async reportInventory(attributes) {
      const { body } = await this.authenticate();
      if (!body.token) throw new Error(`not admitted: ${body.error?.code}`);
      const answer = await call(
        serverUrl,
        ca,
        'PUT',
        '/api/devices/v1/inventory',
        { authorization: `Bearer ${body.token}` },
        JSON.stringify({ attributes }),
      );
      return answer.status;
    },
  };
}
