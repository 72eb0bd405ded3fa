import { acceptDetachedSignature, addArtifactSignature, PAYLOAD_TYPE_MANIFEST, readArtifactHead } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { readInputFile } from '../cli/key-files.js';
import { positional, shortId } from '../cli/values.js';

export const artifactAttach: Command = {
  path: ['artifact', 'attach'],
  summary: 'Attach a detached signature (from slipway sign) to the artifact it was made for, in place',
  positionals: [
    { name: 'A.slw', description: 'the artifact' },
    { name: 'sig.json', description: 'the detached signature' },
  ],
  options: {},
  async run(ctx) {
    const path = positional(ctx, 0, 'A.slw');
    const signatureFile = await readInputFile(positional(ctx, 1, 'sig.json'));
    const head = await readArtifactHead(path);
    const signature = acceptDetachedSignature(signatureFile, PAYLOAD_TYPE_MANIFEST, head.manifestBytes);
    const all = await addArtifactSignature(path, signature);
    ctx.out.line(`attached the signature of key ${shortId(signature.keyid)} to ${path} (${all.length} signature(s) now)`);
    ctx.out.data({ path, keyId: signature.keyid, signatures: all.map((s) => s.keyid) });
    return 0;
  },
};
