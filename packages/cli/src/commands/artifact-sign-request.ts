import { createSignRequest, PAYLOAD_TYPE_MANIFEST, readArtifactHead } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { positional } from '../cli/values.js';
import { SIGN_REQUEST_OPTIONS, writeSignRequest } from './sign-request-output.js';

export const artifactSignRequest: Command = {
  path: ['artifact', 'sign-request'],
  summary: 'Export what must be signed (the exact manifest bytes and a summary) for an offline signer',
  positionals: [{ name: 'A.slw', description: 'the artifact' }],
  options: SIGN_REQUEST_OPTIONS,
  notes: [
    'Carry req.json to the offline machine, run slipway sign req.json --key K.key --out sig.json,',
    'then slipway artifact attach A.slw sig.json.',
  ],
  async run(ctx) {
    const head = await readArtifactHead(positional(ctx, 0, 'A.slw'));
    return writeSignRequest(ctx, createSignRequest(PAYLOAD_TYPE_MANIFEST, head.manifestBytes));
  },
};
