import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKey, type KeyFiles, makeArtifact, makeRoot, writePayload } from './support/fixtures.js';
import { assertFails, assertOk, parseJson, type Scratch, scratch, slipway } from './support/run.js';

describe('slipway incident revoke-release-key', () => {
  let s: Scratch;
  let rootKey: KeyFiles;
  let leaked: KeyFiles;
  let kept: KeyFiles;
  let root: string;
  before(async () => {
    s = await scratch('slipway-incident-');
    [rootKey, leaked, kept] = [await generateKey(s, 'root'), await generateKey(s, 'leaked'), await generateKey(s, 'kept')];
    root = await makeRoot(s, 'root.json', { rootKeys: [rootKey], releaseKeys: [leaked, kept] });
  });
  after(async () => s.cleanup());

  test('the next root drops the leaked key; signed by the root key it is a valid rotation that refuses the leaked key’s artifacts', async () => {
    const next = s.path('root-2.json');
    const result = await slipway(['incident', 'revoke-release-key', leaked.keyId.slice(0, 12), '--root', root, '--out', next, '--json']);
    assertOk(result);
    const made = parseJson<{ version: number; revoked: string; releaseKeys: string[]; signed: boolean }>(result);
    assert.equal(made.version, 2);
    assert.equal(made.revoked, leaked.keyId);
    assert.deepEqual(made.releaseKeys, [kept.keyId]);
    assert.equal(made.signed, false);
    assertOk(await slipway(['trust', 'sign', next, '--key', rootKey.key]));
    assertOk(await slipway(['trust', 'verify', next, '--previous', root]));
    const payload = await writePayload(s, 'payload.bin');
    const byLeaked = await makeArtifact(s, 'leaked.slw', { payloads: [payload], extraArgs: ['--key', leaked.key] });
    const byKept = await makeArtifact(s, 'kept.slw', { payloads: [payload], extraArgs: ['--key', kept.key] });
    assertOk(await slipway(['artifact', 'verify', byLeaked, '--trust', root]));
    assertFails(await slipway(['artifact', 'verify', byLeaked, '--trust', next]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
    assertOk(await slipway(['artifact', 'verify', byKept, '--trust', next]));
  });

  test('revoking the last release key needs a replacement; an unknown key is named as such', async () => {
    const single = await makeRoot(s, 'single.json', { rootKeys: [rootKey], releaseKeys: [leaked] });
    assertFails(
      await slipway(['incident', 'revoke-release-key', leaked.keyId, '--root', single, '--out', s.path('none.json')]),
      'SLW_TRUST_THRESHOLD_INVALID',
    );
    const replaced = s.path('replaced.json');
    assertOk(
      await slipway(['incident', 'revoke-release-key', leaked.keyId, '--root', single, '--add-release-key', kept.pub, '--out', replaced]),
    );
    assertFails(
      await slipway(['incident', 'revoke-release-key', rootKey.keyId, '--root', root, '--out', s.path('x.json')]),
      'SLW_TRUST_KEY_NOT_IN_ROOT',
    );
    assertFails(
      await slipway(['incident', 'revoke-release-key', 'abc', '--root', root, '--out', s.path('y.json')]),
      'SLW_TRUST_KEY_NOT_IN_ROOT',
    );
  });
});
