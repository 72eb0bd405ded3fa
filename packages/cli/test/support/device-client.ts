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
      return new Promise((resolve, reject) => {
        const req = request(
          new URL('/api/devices/v1/auth', serverUrl),
          { method: 'POST', ca, headers: { 'content-type': 'application/json', [DEVICE_SIGNATURE_HEADER]: signature } },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}
