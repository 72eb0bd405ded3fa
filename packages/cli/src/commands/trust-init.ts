import { buildRoot, SlipwayError, serializeEnvelope, toTimestamp, writeFileAtomic } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { parseCount, parseExpiry } from '../cli/durations.js';
import { loadPublicKey } from '../cli/key-files.js';
import { rootLines } from '../cli/root-files.js';
import { flag, requiredString, stringList, stringOption } from '../cli/values.js';

export const trustInit: Command = {
  path: ['trust', 'init'],
  summary: 'Create an unsigned trust root (root.json) naming the root and release keys and their thresholds',
  options: {
    'root-key': { type: 'string', multiple: true, required: true, value: 'R.pub', description: 'a root public key (repeat per key)' },
    'release-key': { type: 'string', multiple: true, required: true, value: 'K.pub', description: 'a release public key (repeat per key)' },
    'root-threshold': { type: 'string', value: 'N', description: 'root signatures needed (default 1)' },
    'release-threshold': { type: 'string', value: 'N', description: 'release signatures needed on an artifact (default 1)' },
    expires: { type: 'string', value: 'DURATION|TIME', description: 'expiry: 365d (default), 12h, 2y, or 2027-06-30T00:00:00Z' },
    version: { type: 'string', value: 'N', description: 'root version (default 1); N+1 makes the next root of a rotation' },
    out: { type: 'string', value: 'root.json', required: true, description: 'where to write the root' },
    force: { type: 'boolean', description: 'replace an existing file' },
  },
  notes: [
    'Then sign it with a threshold of root keys: slipway trust sign root.json --key R.key',
    'A rotation root (version N+1) must also be signed by a threshold of the previous root keys.',
  ],
  async run(ctx) {
    const rootKeys = await Promise.all(stringList(ctx, 'root-key').map(loadPublicKey));
    const releaseKeys = await Promise.all(stringList(ctx, 'release-key').map(loadPublicKey));
    const expires = parseExpiry(stringOption(ctx, 'expires') ?? '365d', ctx.now, '--expires');
    if (expires.getTime() <= ctx.now.getTime()) {
      throw new SlipwayError('SLW_TRUST_EXPIRY_INVALID', `--expires ${stringOption(ctx, 'expires')} is already in the past`);
    }
    const root = buildRoot({
      version: parseCount(stringOption(ctx, 'version') ?? '1', '--version', 1),
      expires: toTimestamp(expires),
      rootKeys,
      releaseKeys,
      rootThreshold: parseCount(stringOption(ctx, 'root-threshold') ?? '1', '--root-threshold', 1),
      releaseThreshold: parseCount(stringOption(ctx, 'release-threshold') ?? '1', '--release-threshold', 1),
    });
    const out = requiredString(ctx, 'out');
    await writeFileAtomic(out, serializeEnvelope(root.envelope), { exclusive: !flag(ctx, 'force') });
    ctx.out.line(`wrote ${out} (unsigned)`);
    for (const line of rootLines(root)) ctx.out.line(`  ${line}`);
    ctx.out.line(`next: slipway trust sign ${out} --key ROOT.key   (${root.roles.root.threshold} root signature(s) needed)`);
    ctx.out.data({ path: out, version: root.version, expires: root.body.expires, signed: false });
    return 0;
  },
};
