import { PAYLOAD_TYPE_ROOT, serializeEnvelope, signPayload, validSigners, withSignature, writeFileAtomic } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { loadSigner } from '../cli/key-files.js';
import { loadRoot } from '../cli/root-files.js';
import { positional, requiredString, shortId } from '../cli/values.js';

export const trustSign: Command = {
  path: ['trust', 'sign'],
  summary: 'Add a root-key signature to root.json, in place',
  positionals: [{ name: 'root.json', description: 'the root to sign' }],
  options: { key: { type: 'string', value: 'R.key', required: true, description: 'the private root key' } },
  notes: ['Signing a rotation root (N+1) with a key of root N that N+1 drops is expected: it proves the old root approves.'],
  async run(ctx) {
    const path = positional(ctx, 0, 'root.json');
    const root = await loadRoot(path);
    const signer = await loadSigner(requiredString(ctx, 'key'), ctx.env);
    const signature = await signPayload(signer, PAYLOAD_TYPE_ROOT, root.envelope.payload);
    const signatures = withSignature(root.envelope.signatures, signature, 'SLW_TRUST_ROOT_MALFORMED');
    await writeFileAtomic(path, serializeEnvelope({ ...root.envelope, signatures }));
    const own = validSigners(root.keys, root.roles.root, PAYLOAD_TYPE_ROOT, root.envelope.payload, signatures);
    const isRootKey = root.roles.root.keyIds.includes(signer.keyId);
    ctx.out.line(`signed ${path} with key ${shortId(signer.keyId)}`);
    if (!isRootKey)
      ctx.out.note(
        `note: ${shortId(signer.keyId)} is not a root key of version ${root.version}; it counts only as a previous-root signature`,
      );
    ctx.out.line(`root signatures of version ${root.version}: ${own.size} of ${root.roles.root.threshold} needed`);
    ctx.out.data({ path, keyId: signer.keyId, rootKey: isRootKey, validRootSignatures: own.size, threshold: root.roles.root.threshold });
    return 0;
  },
};
