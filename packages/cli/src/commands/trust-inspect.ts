import { PAYLOAD_TYPE_ROOT, validSigners } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { describeRoot, loadRoot, rootLines } from '../cli/root-files.js';
import { positional, shortId } from '../cli/values.js';

export const trustInspect: Command = {
  path: ['trust', 'inspect'],
  summary: 'Show a trust root without deciding whether to trust it (expired roots included)',
  positionals: [{ name: 'root.json', description: 'the root to show' }],
  options: {},
  async run(ctx) {
    const path = positional(ctx, 0, 'root.json');
    const root = await loadRoot(path);
    const valid = validSigners(root.keys, root.roles.root, PAYLOAD_TYPE_ROOT, root.envelope.payload, root.envelope.signatures);
    const expired = root.expiresMs <= ctx.now.getTime();
    for (const line of rootLines(root)) ctx.out.line(line);
    ctx.out.line(
      `signatures: ${root.envelope.signatures.length} (${valid.size} valid by its own root keys, ${root.roles.root.threshold} needed)`,
    );
    for (const s of root.envelope.signatures) ctx.out.line(`  ${shortId(s.keyid)}${valid.has(s.keyid) ? '  valid root signature' : ''}`);
    if (expired) ctx.out.line('EXPIRED: devices will refuse this root');
    ctx.out.data({
      path,
      ...describeRoot(root),
      expired,
      signatures: root.envelope.signatures.map((s) => ({ keyId: s.keyid, validRootSignature: valid.has(s.keyid) })),
    });
    return 0;
  },
};
