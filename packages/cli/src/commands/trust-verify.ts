import { verifyRoot, verifyRootRotation } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { describeRoot, loadRoot, rootLines } from '../cli/root-files.js';
import { positional, stringOption } from '../cli/values.js';

export const trustVerify: Command = {
  path: ['trust', 'verify'],
  summary: 'Check a trust root: its own root threshold, expiry and, with --previous, the rotation N -> N+1',
  positionals: [{ name: 'root.json', description: 'the root to check' }],
  options: {
    previous: { type: 'string', value: 'old-root.json', description: 'the trusted root it must follow (version N)' },
  },
  notes: ['Exit 0 only when the root is valid; otherwise one line names the problem.'],
  async run(ctx) {
    const path = positional(ctx, 0, 'root.json');
    const candidate = await loadRoot(path);
    const previousPath = stringOption(ctx, 'previous');
    // The previous root must be one its own keys signed; it may have expired since (that is why it is rotated).
    const previous = previousPath ? verifyRoot(await loadRoot(previousPath), { now: ctx.now, allowExpired: true }) : undefined;
    const trusted = previous ? verifyRootRotation(previous, candidate, { now: ctx.now }) : verifyRoot(candidate, { now: ctx.now });
    ctx.out.line(`OK: ${path} is a valid trust root${previousPath ? ` and a valid rotation from ${previousPath}` : ''}`);
    for (const line of rootLines(trusted)) ctx.out.line(`  ${line}`);
    ctx.out.data({ valid: true, path, ...describeRoot(trusted), signedBy: trusted.signedBy, rotation: previousPath !== undefined });
    return 0;
  },
};
