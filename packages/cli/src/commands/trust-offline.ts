import {
  acceptDetachedSignature,
  createSignRequest,
  PAYLOAD_TYPE_ROOT,
  serializeEnvelope,
  withSignature,
  writeFileAtomic,
} from '@slipway/core';
import type { Command } from '../cli/command.js';
import { readInputFile } from '../cli/key-files.js';
import { loadRoot } from '../cli/root-files.js';
import { positional, shortId } from '../cli/values.js';
import { SIGN_REQUEST_OPTIONS, writeSignRequest } from './sign-request-output.js';

export const trustSignRequest: Command = {
  path: ['trust', 'sign-request'],
  summary: 'Export a root for signing with an offline root key (then slipway sign, then trust attach)',
  positionals: [{ name: 'root.json', description: 'the root to be signed' }],
  options: SIGN_REQUEST_OPTIONS,
  async run(ctx) {
    const root = await loadRoot(positional(ctx, 0, 'root.json'));
    return writeSignRequest(ctx, createSignRequest(PAYLOAD_TYPE_ROOT, root.envelope.payload));
  },
};

export const trustAttach: Command = {
  path: ['trust', 'attach'],
  summary: 'Attach a detached root signature (from slipway sign) to root.json, in place',
  positionals: [
    { name: 'root.json', description: 'the root' },
    { name: 'sig.json', description: 'the detached signature' },
  ],
  options: {},
  async run(ctx) {
    const path = positional(ctx, 0, 'root.json');
    const root = await loadRoot(path);
    const signature = acceptDetachedSignature(
      await readInputFile(positional(ctx, 1, 'sig.json')),
      PAYLOAD_TYPE_ROOT,
      root.envelope.payload,
    );
    const signatures = withSignature(root.envelope.signatures, signature, 'SLW_TRUST_ROOT_MALFORMED');
    await writeFileAtomic(path, serializeEnvelope({ ...root.envelope, signatures }));
    ctx.out.line(`attached the signature of key ${shortId(signature.keyid)} to ${path}`);
    ctx.out.data({ path, keyId: signature.keyid, signatures: signatures.map((s) => s.keyid) });
    return 0;
  },
};
