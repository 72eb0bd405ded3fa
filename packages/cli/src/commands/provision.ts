import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileError, GENERATABLE_KEY_TYPES, type GeneratableKeyType, generateKeyPair, SlipwayError, writeFileAtomic } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { deviceCertificateIssuer } from '../cli/device-certificate.js';
import { loadPrivateKey, readInputFile } from '../cli/key-files.js';
import { progressBar } from '../cli/progress.js';
import { requiredString, stringOption, wholeNumber } from '../cli/values.js';

export const PROVISION_MAX_COUNT = 100_000;

/** The agent's configuration in each bundle; paths are relative to the file itself. */
export interface ProvisionedAgentConfig {
  readonly server: string;
  readonly serverCaFile?: string;
  readonly deviceType: string;
  readonly identityFile: string;
  readonly keyFile: string;
  readonly certificateFile: string;
}

async function assertEmptyOrAbsent(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0)
      throw new SlipwayError('SLW_IO_EXISTS', `${dir} is not empty; provisioning never overwrites device data`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err instanceof SlipwayError ? err : fileError(err, dir, 'read');
  }
}

export const provision: Command = {
  path: ['provision'],
  summary: 'Generate per-device data (key, certificate, identity, agent config) and the manifest to preauthorize them',
  options: {
    count: { type: 'string', value: 'N', required: true, description: `how many devices (1-${PROVISION_MAX_COUNT})` },
    'device-type': { type: 'string', value: 'T', required: true, description: 'the device type the agents report' },
    'manufacturing-ca': {
      type: 'string',
      value: 'FILE',
      required: true,
      description: 'CA certificate (PEM) that issues device certificates',
    },
    'manufacturing-ca-key': {
      type: 'string',
      value: 'FILE',
      required: true,
      description: "the CA's private key (PKCS#8 PEM, mode 0600; SLIPWAY_KEY_PASSPHRASE if encrypted)",
    },
    out: { type: 'string', value: 'DIR', required: true, description: 'output directory (must be empty or absent)' },
    'serial-prefix': { type: 'string', value: 'P', description: 'serial numbers are P + a zero-padded number (default GW-)' },
    first: { type: 'string', value: 'N', description: 'number of the first serial (default 1)' },
    'key-type': { type: 'string', value: 'T', description: `device key type: ${GENERATABLE_KEY_TYPES.join(', ')} (default ecdsa-p256)` },
    server: { type: 'string', value: 'URL', description: 'server URL written into each agent config (default https://localhost:8443)' },
    'server-ca': {
      type: 'string',
      value: 'FILE',
      description: "CA that pins the server, copied into each bundle (the server's DATA/tls/ca.pem)",
    },
    'valid-days': { type: 'string', value: 'N', description: 'device certificate lifetime in days (default 5475, 15 years)' },
  },
  notes: [
    'Writes DIR/manifest.json (for slipway devices preauthorize) and DIR/devices/SERIAL/ with device.key (0600),',
    'device.pem, identity.json, agent.json and server-ca.pem: the files for the per-device data partition.',
    'The identity is {"serial": SERIAL}; configure the server with devices.identityAttributes ["serial"].',
  ],
  async run(ctx) {
    const count = wholeNumber(requiredString(ctx, 'count'), 'count', 1, 1, PROVISION_MAX_COUNT);
    const first = wholeNumber(stringOption(ctx, 'first'), 'first', 1, 0, 999_999_999);
    const validDays = wholeNumber(stringOption(ctx, 'valid-days'), 'valid-days', 5475, 1, 36_500);
    const prefix = stringOption(ctx, 'serial-prefix') ?? 'GW-';
    if (!/^[A-Za-z0-9._-]{0,32}$/.test(prefix))
      throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--serial-prefix ${prefix}: letters, digits, . _ - only`);
    const keyType = (stringOption(ctx, 'key-type') ?? 'ecdsa-p256') as GeneratableKeyType;
    if (!GENERATABLE_KEY_TYPES.includes(keyType)) {
      throw new SlipwayError('SLW_KEY_TYPE_UNSUPPORTED', `--key-type ${keyType}: choose one of ${GENERATABLE_KEY_TYPES.join(', ')}`);
    }
    const deviceType = requiredString(ctx, 'device-type');
    const server = stringOption(ctx, 'server') ?? 'https://localhost:8443';
    const serverCaFile = stringOption(ctx, 'server-ca');
    const serverCa = serverCaFile ? (await readInputFile(serverCaFile)).toString('utf8') : undefined;
    const out = requiredString(ctx, 'out');
    await assertEmptyOrAbsent(out);
    const caKey = await loadPrivateKey(requiredString(ctx, 'manufacturing-ca-key'), ctx.env);
    const caPem = (await readInputFile(requiredString(ctx, 'manufacturing-ca'))).toString('utf8');
    const issuer = await deviceCertificateIssuer(caPem, caKey, validDays, ctx.now);

    const digits = Math.max(6, String(first + count - 1).length);
    const manifest: { identity: Record<string, string>; publicKey: string }[] = [];
    const bar = progressBar(ctx.out, 'provisioning', { items: 'devices' });
    for (let i = 0; i < count; i++) {
      const serial = `${prefix}${String(first + i).padStart(digits, '0')}`;
      const identity = { serial };
      const pair = generateKeyPair(keyType);
      const certificate = await issuer.issue({ identity, publicKey: pair.publicKey, serialNumber: randomBytes(16).toString('hex') });
      const dir = join(out, 'devices', serial);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const config: ProvisionedAgentConfig = {
        server,
        ...(serverCa ? { serverCaFile: 'server-ca.pem' } : {}),
        deviceType,
        identityFile: 'identity.json',
        keyFile: 'device.key',
        certificateFile: 'device.pem',
      };
      await writeFileAtomic(join(dir, 'device.key'), pair.privatePem, { mode: 0o600, exclusive: true });
      await writeFileAtomic(join(dir, 'device.pem'), certificate, { exclusive: true });
      await writeFileAtomic(join(dir, 'identity.json'), `${JSON.stringify(identity, null, 2)}\n`, { exclusive: true });
      await writeFileAtomic(join(dir, 'agent.json'), `${JSON.stringify(config, null, 2)}\n`, { exclusive: true });
      if (serverCa) await writeFileAtomic(join(dir, 'server-ca.pem'), serverCa, { exclusive: true });
      manifest.push({ identity, publicKey: pair.publicKey.pem });
      bar.update(i + 1, count);
    }
    bar.finish();
    await writeFileAtomic(join(out, 'manifest.json'), `${JSON.stringify({ devices: manifest }, null, 2)}\n`, { exclusive: true });
    ctx.out.line(`provisioned ${count} devices in ${join(out, 'devices')}; manifest: ${join(out, 'manifest.json')}`);
    ctx.out.data({
      count,
      devices: join(out, 'devices'),
      manifest: join(out, 'manifest.json'),
      serials: manifest.map((m) => m.identity.serial),
    });
    return 0;
  },
};
