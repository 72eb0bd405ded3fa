import { createInterface } from 'node:readline/promises';
import { assertAbsent, openSignRequest, SlipwayError, signRequest, writeFileAtomic } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { loadSigner, readInputFile } from '../cli/key-files.js';
import { flag, positional, requiredString, shortId } from '../cli/values.js';
import { summaryLines } from './sign-request-output.js';

export const sign: Command = {
  path: ['sign'],
  summary: 'Sign a sign request with a key on this (offline) machine, writing a detached signature',
  positionals: [{ name: 'req.json', description: 'from artifact sign-request or trust sign-request' }],
  options: {
    key: { type: 'string', value: 'K.key', required: true, description: 'the private key' },
    out: { type: 'string', value: 'sig.json', required: true, description: 'where to write the signature' },
    yes: { type: 'boolean', description: 'do not ask for confirmation on a terminal' },
    force: { type: 'boolean', description: 'replace an existing file' },
  },
  notes: ['What is shown is recomputed from the bytes being signed, never taken from the request on trust.'],
  async run(ctx) {
    const opened = openSignRequest(await readInputFile(positional(ctx, 0, 'req.json')));
    const signer = await loadSigner(requiredString(ctx, 'key'), ctx.env);
    const out = requiredString(ctx, 'out');
    const exclusive = !flag(ctx, 'force');
    // Refuse before showing the summary, so a refusal is one line on stderr like every other failure.
    if (exclusive) await assertAbsent(out);
    ctx.out.note(`You are signing, with key ${shortId(signer.keyId)}:`);
    for (const line of summaryLines(opened.summary)) ctx.out.note(`  ${line}`);
    ctx.out.note(`  sha256 of the signed bytes: ${opened.request.payloadSha256}`);
    if (ctx.out.stdinIsTty && ctx.out.stderrIsTty && !flag(ctx, 'yes')) {
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await prompt.question('Sign this? [y/N] ');
      prompt.close();
      if (!/^y(es)?$/i.test(answer.trim())) throw new SlipwayError('SLW_USAGE_INVALID_OPTION', 'not signed: the signer declined');
    }
    const detached = await signRequest(opened, signer);
    await writeFileAtomic(out, `${JSON.stringify(detached, null, 2)}\n`, { exclusive });
    ctx.out.line(`wrote ${out}`);
    ctx.out.data({ path: out, keyId: detached.keyid, payloadSha256: detached.payloadSha256, summary: opened.summary });
    return 0;
  },
};
