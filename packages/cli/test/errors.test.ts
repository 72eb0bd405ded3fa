import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { generateKey, type KeyFiles, makeArtifact, makeRoot, writePayload } from './support/fixtures.js';
import { assertFails, assertOk, listedCommands, type RunResult, type Scratch, scratch, slipway } from './support/run.js';

/** `artifact create` with fixed metadata: the failures below are about the payload, key or output. */
function createArgs(payload: string, out: string, extra: readonly string[] = []): string[] {
  return ['artifact', 'create', '--name', 'n', '--version', '1', '--device-type', 't', '--payload', payload, ...extra, '--out', out];
}

describe('slipway usage and errors', () => {
  let s: Scratch;
  let rootKey: KeyFiles;
  let release: KeyFiles;
  let root: string;
  let payload: string;
  let artifact: string;
  before(async () => {
    s = await scratch();
    rootKey = await generateKey(s, 'root');
    release = await generateKey(s, 'release');
    root = await makeRoot(s, 'root.json', { rootKeys: [rootKey], releaseKeys: [release] });
    payload = await writePayload(s, 'rootfs.img');
    artifact = await makeArtifact(s, 'a.slw', { payloads: [payload], extraArgs: ['--key', release.key] });
  });
  after(() => s.cleanup());

  test('slipway --help lists every command and exits 0', async () => {
    const result = await slipway(['--help']);
    assertOk(result);
    assert.match(result.stdout, /^Usage: slipway <command> \[options\]\n/);
    const paths = listedCommands(result.stdout);
    for (const expected of [
      'key generate',
      'trust init',
      'trust sign',
      'trust verify',
      'trust inspect',
      'trust sign-request',
      'trust attach',
      'artifact create',
      'artifact sign',
      'artifact sign-request',
      'artifact attach',
      'artifact verify',
      'artifact inspect',
      'sign',
    ]) {
      assert.ok(paths.includes(expected), `${expected} is listed in:\n${result.stdout}`);
    }
  });

  test('every listed command has --help that exits 0 and prints its usage line', async () => {
    const paths = listedCommands((await slipway(['--help'])).stdout);
    assert.ok(paths.length >= 14);
    for (const path of paths) {
      const result = await slipway([...path.split(' '), '--help']);
      assertOk(result, [path, '--help']);
      assert.ok(result.stdout.startsWith(`Usage: slipway ${path}`), `${path} --help:\n${result.stdout}`);
      assert.match(result.stdout, /--json/, `${path} --help lists --json`);
      assert.equal(result.stderr, '');
    }
  });

  test('--help wins over missing required options', async () => {
    const result = await slipway(['artifact', 'create', '--help']);
    assertOk(result);
    assert.match(result.stdout, /--device-type T\.\.\. .*\(required\)/);
  });

  test('a group name alone prints that group and exits 2; with --help it exits 0', async () => {
    const bare = await slipway(['trust']);
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /trust verify/);
    assert.doesNotMatch(bare.stdout, /artifact create/);
    assertOk(await slipway(['trust', '--help']));
  });

  describe('usage errors exit 2', () => {
    const cases: [string, string[], string][] = [
      ['an unknown command', ['frobnicate'], 'SLW_USAGE_UNKNOWN_COMMAND'],
      ['an unknown subcommand', ['artifact', 'frobnicate', 'x.slw'], 'SLW_USAGE_UNKNOWN_COMMAND'],
      ['an unknown flag', ['key', 'generate', '--type', 'ed25519', '--out', '/nonexistent/k', '--colour'], 'SLW_USAGE_INVALID_OPTION'],
      ['a flag without its value', ['key', 'generate', '--out', '/nonexistent/k', '--type'], 'SLW_USAGE_INVALID_OPTION'],
      [
        'a value given to a boolean flag',
        ['key', 'generate', '--type', 'ed25519', '--out', '/nonexistent/k', '--force=yes'],
        'SLW_USAGE_INVALID_OPTION',
      ],
      ['a missing required flag', ['key', 'generate', '--out', '/nonexistent/k'], 'SLW_USAGE_MISSING_OPTION'],
      ['a missing repeatable required flag', ['trust', 'init', '--root-key', 'r.pub', '--out', 'root.json'], 'SLW_USAGE_MISSING_OPTION'],
      ['a missing positional argument', ['trust', 'verify'], 'SLW_USAGE_MISSING_OPTION'],
      ['a missing second positional argument', ['artifact', 'attach', 'a.slw'], 'SLW_USAGE_MISSING_OPTION'],
      ['an extra positional argument', ['trust', 'verify', 'a.json', 'b.json'], 'SLW_USAGE_INVALID_OPTION'],
    ];
    for (const [what, args, code] of cases) {
      test(`${what} fails with ${code}`, async () => {
        assertFails(await slipway(args), code, 2);
      });
    }

    test('a non-numeric or negative security version fails with SLW_USAGE_INVALID_OPTION', async () => {
      for (const value of ['high', '-1', '1.5', '']) {
        assertFails(
          await slipway(['artifact', 'verify', artifact, '--trust', root, `--security-version=${value}`]),
          'SLW_USAGE_INVALID_OPTION',
          2,
        );
      }
    });
  });

  describe('input errors exit 1 and name the file', () => {
    test('a missing input file fails with SLW_IO_NOT_FOUND', async () => {
      const missing = s.path('missing');
      const results: [string, RunResult][] = [
        ['trust verify', await slipway(['trust', 'verify', `${missing}.json`])],
        ['trust inspect', await slipway(['trust', 'inspect', `${missing}.json`])],
        ['artifact inspect', await slipway(['artifact', 'inspect', `${missing}.slw`])],
        ['artifact verify (root)', await slipway(['artifact', 'verify', artifact, '--trust', `${missing}.json`])],
        ['artifact verify (artifact)', await slipway(['artifact', 'verify', `${missing}.slw`, '--trust', root])],
        ['artifact sign (key)', await slipway(['artifact', 'sign', artifact, '--key', `${missing}.key`])],
        [
          'trust init (pub)',
          await slipway(['trust', 'init', '--root-key', `${missing}.pub`, '--release-key', release.pub, '--out', s.path('x.json')]),
        ],
        ['artifact create (payload)', await slipway(createArgs(`${missing}.img`, s.path('x.slw')))],
        ['sign (request)', await slipway(['sign', `${missing}.json`, '--key', release.key, '--out', s.path('x-sig.json'), '--yes'])],
        ['artifact attach (signature)', await slipway(['artifact', 'attach', artifact, `${missing}.json`])],
      ];
      for (const [what, result] of results) {
        assertFails(result, 'SLW_IO_NOT_FOUND');
        assert.ok(result.stderr.includes(missing), `${what} names the missing path: ${result.stderr}`);
      }
    });

    test('a directory given as --payload fails with SLW_IO_NOT_A_FILE', async () => {
      const dir = s.path('payload-dir');
      await mkdir(dir);
      const args = createArgs(dir, s.path('dir.slw'));
      const result = await slipway(args);
      assertFails(result, 'SLW_IO_NOT_A_FILE');
      assert.ok(result.stderr.includes(dir));
    });

    test('a directory where a root or key file is expected fails with SLW_IO_NOT_A_FILE', async () => {
      assertFails(await slipway(['trust', 'verify', s.dir]), 'SLW_IO_NOT_A_FILE');
    });

    test('garbage in root.json fails with SLW_TRUST_ROOT_MALFORMED wherever a root is read', async () => {
      const garbage = s.path('garbage.json');
      for (const content of ['this is not json', '{"payloadType":"x","payload":"","signatures":[]}', '[]', '']) {
        await writeFile(garbage, content);
        assertFails(await slipway(['trust', 'verify', garbage]), 'SLW_TRUST_ROOT_MALFORMED');
        assertFails(await slipway(['trust', 'inspect', garbage]), 'SLW_TRUST_ROOT_MALFORMED');
        assertFails(await slipway(['artifact', 'verify', artifact, '--trust', garbage]), 'SLW_TRUST_ROOT_MALFORMED');
        assertFails(await slipway(['artifact', 'inspect', artifact, '--trust', garbage]), 'SLW_TRUST_ROOT_MALFORMED');
        assertFails(await slipway(['trust', 'verify', root, '--previous', garbage]), 'SLW_TRUST_ROOT_MALFORMED');
      }
    });

    test('a file that is not an artifact fails with an SLW_ARTIFACT_ code', async () => {
      assertFails(await slipway(['artifact', 'inspect', root]), /^SLW_ARTIFACT_/);
      assertFails(await slipway(['artifact', 'verify', root, '--trust', root]), /^SLW_ARTIFACT_/);
      assertFails(await slipway(['artifact', 'sign', payload, '--key', release.key]), /^SLW_ARTIFACT_/);
    });

    test('a public key where a private key is needed fails with SLW_KEY_INVALID', async () => {
      const request = s.path('pub-req.json');
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', request]));
      for (const args of [
        ['artifact', 'sign', artifact, '--key', release.pub],
        ['trust', 'sign', root, '--key', rootKey.pub],
        ['sign', request, '--key', release.pub, '--out', s.path('pub-sig.json'), '--yes'],
        createArgs(payload, s.path('pub.slw'), ['--key', release.pub]),
      ]) {
        const result = await slipway(args);
        assertFails(result, 'SLW_KEY_INVALID');
        assert.match(result.stderr, /public key/);
      }
    });

    test('a file that is no key at all fails with SLW_KEY_INVALID', async () => {
      const notKey = s.path('not-a-key.key');
      await writeFile(notKey, 'hello\n', { mode: 0o600 });
      assertFails(await slipway(['artifact', 'sign', artifact, '--key', notKey]), 'SLW_KEY_INVALID');
      assertFails(
        await slipway(['trust', 'init', '--root-key', notKey, '--release-key', release.pub, '--out', s.path('nk.json')]),
        'SLW_KEY_INVALID',
      );
    });

    test('a private key readable by others fails with SLW_KEY_PERMISSIONS for artifact sign, sign and create --key', async () => {
      const leaky = await generateKey(s, 'leaky');
      await chmod(leaky.key, 0o644);
      const request = s.path('leaky-req.json');
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', request]));
      assertFails(await slipway(['artifact', 'sign', artifact, '--key', leaky.key]), 'SLW_KEY_PERMISSIONS');
      assertFails(await slipway(['sign', request, '--key', leaky.key, '--out', s.path('leaky-sig.json'), '--yes']), 'SLW_KEY_PERMISSIONS');
      assertFails(await slipway(createArgs(payload, s.path('leaky.slw'), ['--key', leaky.key])), 'SLW_KEY_PERMISSIONS');
    });
  });

  describe('--json on failure', () => {
    test('prints the error as JSON on stdout as well as the one line on stderr', async () => {
      const result = await slipway(['trust', 'verify', s.path('missing.json'), '--json']);
      assertFails(result, 'SLW_IO_NOT_FOUND');
      const data = JSON.parse(result.stdout) as { error: { code: string; message: string } };
      assert.equal(data.error.code, 'SLW_IO_NOT_FOUND');
      assert.equal(`${data.error.code}: ${data.error.message}\n`, result.stderr);
    });

    test('a usage error with --json is JSON too', async () => {
      const result = await slipway(['trust', 'verify', '--bogus', '--json']);
      assertFails(result, 'SLW_USAGE_INVALID_OPTION');
      assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'SLW_USAGE_INVALID_OPTION');
    });
  });
});
