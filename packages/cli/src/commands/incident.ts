import { buildRoot, type PublicKeyInfo, SlipwayError, serializeEnvelope, toTimestamp, writeFileAtomic } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { parseCount, parseExpiry } from '../cli/durations.js';
import { loadPublicKey } from '../cli/key-files.js';
import { loadRoot, rootLines } from '../cli/root-files.js';
import { flag, requiredString, stringList, stringOption } from '../cli/values.js';

/**
 * A leaked release key: the next root (version N+1) without it, for the root key holders to sign.
 * Devices follow the rotation at their next poll and from then on refuse anything signed only by
 * the revoked key; releases signed by the remaining keys stay installable.
 */
export const incidentRevokeReleaseKey: Command = {
  path: ['incident', 'revoke-release-key'],
  summary: 'Prepare the next trust root without a leaked release key (unsigned: the root key holders sign it)',
  positionals: [{ name: 'KEYID', description: 'the release key to revoke: its id, or a unique prefix of 8 or more hex digits' }],
  options: {
    root: { type: 'string', value: 'root.json', required: true, description: 'the current trust root' },
    'add-release-key': {
      type: 'string',
      multiple: true,
      value: 'K.pub',
      description: 'a release key to add in its place (repeat per key)',
    },
    'release-threshold': { type: 'string', value: 'N', description: 'release signatures needed (default: as now, at most the keys left)' },
    expires: { type: 'string', value: 'DURATION|TIME', description: 'expiry of the new root: 365d (default), 2y, or a time' },
    out: { type: 'string', value: 'root-next.json', required: true, description: 'where to write the new root' },
    force: { type: 'boolean', description: 'replace an existing file' },
  },
  notes: [
    'Then: slipway trust sign root-next.json --key ROOT.key (a threshold of the root keys),',
    'slipway trust verify root-next.json --previous root.json, slipway trust upload root-next.json.',
    'Re-sign releases still needed with a remaining or new release key; see docs/operations.md.',
  ],
  async run(ctx) {
    const current = await loadRoot(requiredString(ctx, 'root'));
    const wanted = (ctx.positionals[0] ?? '').toLowerCase();
    const releaseIds = current.roles.release.keyIds;
    const matches = /^[0-9a-f]{8,64}$/.test(wanted) ? releaseIds.filter((id) => id.startsWith(wanted)) : [];
    if (matches.length !== 1)
      throw new SlipwayError(
        'SLW_TRUST_KEY_NOT_IN_ROOT',
        `${wanted || '(none)'} ${matches.length > 1 ? 'matches several' : 'matches no'} release key of root version ${current.version}`,
      );
    const revoked = matches[0] as string;
    const keep = releaseIds.filter((id) => id !== revoked).map((id) => current.keys.get(id) as PublicKeyInfo);
    const added = await Promise.all(stringList(ctx, 'add-release-key').map(loadPublicKey));
    const releaseKeys = [...keep, ...added.filter((key) => !keep.some((k) => k.keyId === key.keyId))];
    if (added.some((key) => key.keyId === revoked))
      throw new SlipwayError('SLW_USAGE_INVALID_OPTION', '--add-release-key names the key being revoked');
    if (releaseKeys.length === 0)
      throw new SlipwayError('SLW_TRUST_THRESHOLD_INVALID', 'no release key would be left: add one with --add-release-key K.pub');
    const threshold = parseCount(
      stringOption(ctx, 'release-threshold') ?? String(Math.min(current.roles.release.threshold, releaseKeys.length)),
      '--release-threshold',
      1,
    );
    const expires = parseExpiry(stringOption(ctx, 'expires') ?? '365d', ctx.now, '--expires');
    const next = buildRoot({
      version: current.version + 1,
      expires: toTimestamp(expires),
      rootKeys: current.roles.root.keyIds.map((id) => current.keys.get(id) as PublicKeyInfo),
      releaseKeys,
      rootThreshold: current.roles.root.threshold,
      releaseThreshold: threshold,
    });
    const out = requiredString(ctx, 'out');
    await writeFileAtomic(out, serializeEnvelope(next.envelope), { exclusive: !flag(ctx, 'force') });
    ctx.out.line(`wrote ${out}: root version ${next.version} without release key ${revoked.slice(0, 16)} (unsigned)`);
    for (const line of rootLines(next)) ctx.out.line(`  ${line}`);
    ctx.out.line(`next: slipway trust sign ${out} --key ROOT.key   (${next.roles.root.threshold} root signature(s) needed)`);
    ctx.out.data({ path: out, version: next.version, revoked, releaseKeys: next.roles.release.keyIds, signed: false });
    return 0;
  },
};
