import { PAYLOAD_TYPE_MANIFEST, readArtifactHead, validSigners } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { loadRoot } from '../cli/root-files.js';
import { positional, shortId, stringOption } from '../cli/values.js';

export const artifactInspect: Command = {
  path: ['artifact', 'inspect'],
  summary: "Show an artifact's manifest and signatures without verifying its payloads",
  positionals: [{ name: 'A.slw', description: 'the artifact' }],
  options: {
    trust: { type: 'string', value: 'root.json', description: 'also mark which signatures are valid release signatures of this root' },
  },
  notes: ['Inspect is not verification: use artifact verify before trusting anything shown here.'],
  async run(ctx) {
    const path = positional(ctx, 0, 'A.slw');
    const head = await readArtifactHead(path);
    const rootPath = stringOption(ctx, 'trust');
    const root = rootPath ? await loadRoot(rootPath) : undefined;
    const valid = root
      ? validSigners(root.keys, root.roles.release, PAYLOAD_TYPE_MANIFEST, head.manifestBytes, head.signatures)
      : new Set<string>();
    const m = head.manifest;
    ctx.out.line(`${m.name} ${m.version}  (security version ${m.securityVersion}, ${m.payloadType})`);
    ctx.out.line(`device types: ${m.deviceTypes.join(', ')}`);
    ctx.out.line(`created: ${m.createdAt}${m.expiresAt ? `, expires: ${m.expiresAt}` : ''}`);
    ctx.out.line('payloads:');
    for (const p of m.payloads) {
      ctx.out.line(`  ${p.name}  ${p.uncompressedSize} bytes (${p.compression}, stored ${p.size})  sha256 ${p.sha256}`);
    }
    ctx.out.line(`signatures: ${head.signatures.length}`);
    for (const s of head.signatures)
      ctx.out.line(
        `  ${shortId(s.keyid)}${root ? (valid.has(s.keyid) ? '  valid release signature' : '  NOT a valid release signature') : ''}`,
      );
    if (m.metadata) ctx.out.line(`metadata: ${JSON.stringify(m.metadata)}`);
    ctx.out.data({
      path,
      manifest: m,
      signatures: head.signatures.map((s) => ({ keyId: s.keyid, ...(root ? { validReleaseSignature: valid.has(s.keyid) } : {}) })),
      signatureSpaceBytes: head.layout.signatureBlockSize,
    });
    return 0;
  },
};
