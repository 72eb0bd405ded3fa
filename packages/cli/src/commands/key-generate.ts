import { createPrivateKey } from 'node:crypto';
import {
  assertAbsent,
  GENERATABLE_KEY_TYPES,
  type GeneratableKeyType,
  generateKeyPair,
  SlipwayError,
  writeFileAtomic,
} from '@slipway/core';
import type { Command } from '../cli/command.js';
import { flag, requiredString } from '../cli/values.js';

export const keyGenerate: Command = {
  path: ['key', 'generate'],
  summary: 'Generate a key pair: PREFIX.key (private, PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM)',
  options: {
    type: { type: 'string', value: GENERATABLE_KEY_TYPES.join('|'), required: true, description: 'key type' },
    out: { type: 'string', value: 'PREFIX', required: true, description: 'writes PREFIX.key and PREFIX.pub' },
    encrypt: { type: 'boolean', description: 'encrypt the private key with the passphrase in SLIPWAY_KEY_PASSPHRASE' },
    force: { type: 'boolean', description: 'replace existing key files' },
  },
  notes: [
    'Key IDs are the SHA-256 of the public key (SubjectPublicKeyInfo DER).',
    'Use ecdsa-p256 for keys that will move into a TPM or secure element.',
  ],
  async run(ctx) {
    const type = requiredString(ctx, 'type');
    if (!(GENERATABLE_KEY_TYPES as readonly string[]).includes(type)) {
      throw new SlipwayError('SLW_KEY_TYPE_UNSUPPORTED', `--type ${type}: choose one of ${GENERATABLE_KEY_TYPES.join(', ')}`);
    }
    const prefix = requiredString(ctx, 'out');
    let passphrase: string | undefined;
    if (flag(ctx, 'encrypt')) {
      passphrase = ctx.env.keyPassphrase;
      if (!passphrase) throw new SlipwayError('SLW_USAGE_MISSING_OPTION', '--encrypt needs the passphrase in SLIPWAY_KEY_PASSPHRASE');
    }
    const pair = generateKeyPair(type as GeneratableKeyType);
    const privatePem = passphrase
      ? createPrivateKey(pair.privatePem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString()
      : pair.privatePem;
    const exclusive = !flag(ctx, 'force');
    // Check both before writing either, so a refusal never leaves a new .key beside an old .pub.
    if (exclusive) for (const path of [`${prefix}.key`, `${prefix}.pub`]) await assertAbsent(path);
    await writeFileAtomic(`${prefix}.key`, privatePem, { mode: 0o600, exclusive });
    await writeFileAtomic(`${prefix}.pub`, pair.publicKey.pem, { mode: 0o644, exclusive });
    ctx.out.line(`wrote ${prefix}.key (private, 0600${passphrase ? ', encrypted' : ''}) and ${prefix}.pub`);
    ctx.out.line(`key id: ${pair.publicKey.keyId}`);
    ctx.out.data({
      keyId: pair.publicKey.keyId,
      type,
      scheme: pair.publicKey.scheme,
      privateKey: `${prefix}.key`,
      publicKey: `${prefix}.pub`,
      encrypted: passphrase !== undefined,
    });
    return 0;
  },
};
