import { parseRoot, SlipwayError } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { readInputFile } from '../cli/key-files.js';
import { callServer } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { positional } from '../cli/values.js';

interface RootSummary {
  version: number;
  expiresAt: string;
  rootKeys: string[];
  rootThreshold: number;
  releaseKeys: string[];
  releaseThreshold: number;
  uploadedAt: string;
}

export const trustUpload: Command = {
  path: ['trust', 'upload'],
  summary: "Store a trust root on the server: the fleet's first root, or the next version of a rotation",
  positionals: [{ name: 'ROOT', description: 'root.json, signed (trust sign or trust attach)' }],
  options: TARGET,
  notes: [
    'The server checks it as a device would: the first root against its own root keys, each later one',
    'as version N+1 signed by a threshold of the previous and of its own root keys.',
  ],
  async run(ctx) {
    const file = positional(ctx, 0, 'ROOT');
    const bytes = await readInputFile(file);
    // Parsed here first, so a wrong file fails with a clear local error before anything is sent.
    parseRoot(bytes);
    let document: unknown;
    try {
      document = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new SlipwayError('SLW_TRUST_ROOT_MALFORMED', `${file} is not JSON`, { cause: err });
    }
    const stored = (await callServer(await target(ctx), 'POST', '/trust/roots', document)) as RootSummary;
    ctx.out.line(`stored trust root version ${stored.version} (expires ${stored.expiresAt})`);
    ctx.out.data(stored);
    return 0;
  },
};

export const trustList: Command = {
  path: ['trust', 'list'],
  summary: 'List the trust roots stored on the server',
  options: TARGET,
  async run(ctx) {
    const roots = (await callServer(await target(ctx), 'GET', '/trust/roots')) as RootSummary[];
    for (const r of roots) {
      ctx.out.line(
        `v${r.version}  expires ${r.expiresAt}  root ${r.rootThreshold}/${r.rootKeys.length}  release ${r.releaseThreshold}/${r.releaseKeys.length}`,
      );
    }
    ctx.out.data(roots);
    return 0;
  },
};
