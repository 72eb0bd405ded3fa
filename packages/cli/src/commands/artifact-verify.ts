import { assertInstallable, openArtifactFile } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { parseCount } from '../cli/durations.js';
import { periodicCollector } from '../cli/memory.js';
import { progressBar } from '../cli/progress.js';
import { loadTrustedRoot } from '../cli/root-files.js';
import { positional, requiredString, shortId, stringOption } from '../cli/values.js';

export const artifactVerify: Command = {
  path: ['artifact', 'verify'],
  summary: 'Verify an artifact under a trust root: release signatures to threshold, expiry, every payload hash',
  positionals: [{ name: 'A.slw', description: 'the artifact' }],
  options: {
    trust: { type: 'string', value: 'root.json', required: true, description: 'the trust root (must itself be valid and current)' },
    'device-type': { type: 'string', value: 'T', description: 'also require compatibility with this device type' },
    'security-version': { type: 'string', value: 'N', description: 'also refuse a rollback below this installed security version' },
  },
  notes: ['Exit 0 only when the artifact is valid under the root; the checks are those a device makes before installing.'],
  async run(ctx) {
    const path = positional(ctx, 0, 'A.slw');
    const root = await loadTrustedRoot(requiredString(ctx, 'trust'), { now: ctx.now });
    const reader = await openArtifactFile(path, root);
    const installed = stringOption(ctx, 'security-version');
    try {
      assertInstallable(reader.manifest, {
        deviceType: stringOption(ctx, 'device-type'),
        installedSecurityVersion: installed === undefined ? undefined : parseCount(installed, '--security-version', 0),
        now: ctx.now,
      });
    } catch (err) {
      await reader.close();
      throw err;
    }
    const m = reader.manifest;
    const total = m.payloads.reduce((sum, p) => sum + p.size, 0);
    const bar = progressBar(ctx.out, 'verifying');
    const collectGarbage = periodicCollector();
    let done = 0;
    await reader.verifyPayloads((bytes) => {
      collectGarbage(bytes);
      done += bytes;
      bar.update(done, total);
    });
    bar.finish();
    ctx.out.line(`OK: ${path} is ${m.name} ${m.version} (security version ${m.securityVersion}), valid under root version ${root.version}`);
    ctx.out.line(
      `  signed by ${reader.signedBy.map(shortId).join(', ')} (${reader.signedBy.length} of ${root.roles.release.threshold} needed)`,
    );
    ctx.out.data({
      valid: true,
      path,
      name: m.name,
      version: m.version,
      securityVersion: m.securityVersion,
      deviceTypes: m.deviceTypes,
      rootVersion: root.version,
      signedBy: reader.signedBy,
      threshold: root.roles.release.threshold,
    });
    return 0;
  },
};
