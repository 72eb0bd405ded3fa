import { signArtifactFile } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { loadSigner } from '../cli/key-files.js';
import { positional, requiredString, shortId } from '../cli/values.js';

export const artifactSign: Command = {
  path: ['artifact', 'sign'],
  summary: "Sign an artifact's manifest with a release key and store the signature in place",
  positionals: [{ name: 'A.slw', description: 'the artifact' }],
  options: { key: { type: 'string', value: 'K.key', required: true, description: 'the private release key' } },
  notes: ['For a key on an offline machine use: artifact sign-request -> sign -> artifact attach.'],
  async run(ctx) {
    const path = positional(ctx, 0, 'A.slw');
    const signer = await loadSigner(requiredString(ctx, 'key'), ctx.env);
    const signature = await signArtifactFile(path, signer);
    ctx.out.line(`signed ${path} with key ${shortId(signature.keyid)}`);
    ctx.out.data({ path, keyId: signature.keyid });
    return 0;
  },
};
