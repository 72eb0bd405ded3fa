// The command surface of BRIEF.md, run verbatim as real processes of the bundled bin: exit codes,
// one-line coded errors without stack traces, and JSON on stdout with --json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertFails, assertOk, BIN, listedCommands, parseJson, type RunResult, type Scratch, scratch, slipwayBin } from './support/run.js';

const ONE_ERROR_LINE = /^SLW_[A-Z_]+: .+\n$/;

describe('the BRIEF.md command surface, as subprocesses', { concurrency: true }, () => {
  let s: Scratch;
  before(async () => {
    s = await scratch('slipway-contract-');
  });
  after(() => s.cleanup());

  /** Runs one command line, split on spaces exactly as written in BRIEF.md, in `dir`. */
  async function run(line: string, dir = s.dir): Promise<RunResult> {
    return slipwayBin(line.split(' '), { cwd: dir });
  }
  async function ok(line: string, dir = s.dir): Promise<RunResult> {
    const result = await run(line, dir);
    assertOk(result, line.split(' '));
    return result;
  }

  test('keys, a rotated trust root, an artifact signed online and offline, verify and inspect', async () => {
    await ok('key generate --type ed25519 --out R');
    await ok('key generate --type ed25519 --out R2');
    await ok('key generate --type ecdsa-p256 --out K');
    await ok('key generate --type rsa-3072 --out K2');

    // Version 1, then version 2 signed by the old and the new root keys.
    await ok('trust init --root-key R.pub --release-key K.pub --out old-root.json');
    await ok('trust sign old-root.json --key R.key');
    await ok('trust verify old-root.json');
    await ok(
      'trust init --root-key R.pub --root-key R2.pub --release-key K.pub --release-key K2.pub --root-threshold 2 --release-threshold 1 --expires 365d --version 2 --out root.json',
    );
    assertFails(await run('trust verify root.json'), 'SLW_TRUST_ROOT_THRESHOLD');
    await ok('trust sign root.json --key R.key');
    await ok('trust sign root.json --key R2.key');
    await ok('trust verify root.json');
    await ok('trust verify root.json --previous old-root.json');
    assertFails(await run('trust verify old-root.json --previous root.json'), 'SLW_TRUST_ROOT_VERSION');

    await writeFile(s.path('rootfs.img'), randomBytes(8192));
    await writeFile(s.path('app.tar'), randomBytes(1024));
    await ok(
      'artifact create --name gateway-os --version 1.0.0 --device-type gw-100 --device-type gw-200 --payload rootfs.img --payload app.tar --type rootfs --security-version 2 --out A.slw',
    );
    assertFails(await run('artifact verify A.slw --trust root.json'), 'SLW_ARTIFACT_SIGNATURE_INVALID');

    // The same unsigned artifact goes to an "air-gapped" directory with the release key.
    const airgap = s.path('airgap');
    await mkdir(airgap);
    for (const file of ['A.slw', 'K.key', 'root.json']) await copyFile(s.path(file), join(airgap, file));
    await chmod(join(airgap, 'K.key'), 0o600);

    await ok('artifact sign A.slw --key K.key');
    await ok('artifact verify A.slw --trust root.json');

    await ok('artifact sign-request A.slw --out req.json', airgap);
    await ok('sign req.json --key K.key --out sig.json', airgap);
    await ok('artifact attach A.slw sig.json', airgap);
    await ok('artifact verify A.slw --trust root.json', airgap);

    await ok('artifact verify A.slw --trust root.json --device-type gw-200 --security-version 2');
    assertFails(await run('artifact verify A.slw --trust root.json --device-type gw-300'), 'SLW_ARTIFACT_DEVICE_TYPE');
    assertFails(await run('artifact verify A.slw --trust root.json --security-version 3'), 'SLW_ARTIFACT_ROLLBACK');

    const text = await ok('artifact inspect A.slw');
    assert.match(text.stdout, /^gateway-os 1\.0\.0 /);
    const json = await ok('artifact inspect A.slw --json');
    const inspected = parseJson<{ manifest: { name: string; securityVersion: number; deviceTypes: string[] }; signatures: unknown[] }>(
      json,
    );
    assert.equal(inspected.manifest.name, 'gateway-os');
    assert.equal(inspected.manifest.securityVersion, 2);
    assert.deepEqual(inspected.manifest.deviceTypes, ['gw-100', 'gw-200']);
    assert.equal(inspected.signatures.length, 1);

    // A flipped byte near the end of the payloads is refused by a real process too.
    const bytes = await readFile(s.path('A.slw'));
    const at = bytes.length - 3000;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(s.path('tampered.slw'), bytes);
    assertFails(await run('artifact verify tampered.slw --trust root.json'), /^SLW_ARTIFACT_/);
  });

  test('--json output of every data-printing command parses as JSON', async () => {
    const dir = s.path('json');
    await mkdir(dir);
    const lines = [
      'key generate --type ed25519 --out R --json',
      'key generate --type ecdsa-p256 --out K --json',
      'trust init --root-key R.pub --release-key K.pub --out root.json --json',
      'trust sign root.json --key R.key --json',
      'trust verify root.json --json',
      'trust inspect root.json --json',
      'artifact create --name n --version 1 --device-type t --payload R.pub --out A.slw --json',
      'artifact sign-request A.slw --out req.json --json',
      'sign req.json --key K.key --out sig.json --json',
      'artifact attach A.slw sig.json --json',
      'artifact verify A.slw --trust root.json --json',
      'artifact inspect A.slw --trust root.json --json',
    ];
    for (const line of lines) {
      const result = await ok(line, dir);
      const data = parseJson(result);
      assert.equal(typeof data, 'object', line);
    }
  });

  test('failures exit non-zero with exactly one SLW_ line on stderr and no stack trace', async () => {
    const cases: [string, number, string][] = [
      ['frobnicate', 2, 'SLW_USAGE_UNKNOWN_COMMAND'],
      ['key generate --type ed25519 --out x --bogus', 2, 'SLW_USAGE_INVALID_OPTION'],
      ['key generate --out x', 2, 'SLW_USAGE_MISSING_OPTION'],
      ['key generate --type dsa --out x', 1, 'SLW_KEY_TYPE_UNSUPPORTED'],
      ['trust verify nothing-here.json', 1, 'SLW_IO_NOT_FOUND'],
      ['artifact inspect nothing-here.slw', 1, 'SLW_IO_NOT_FOUND'],
      ['artifact inspect nothing-here.slw --json', 1, 'SLW_IO_NOT_FOUND'],
    ];
    const results = await Promise.all(cases.map(([line]) => run(line)));
    for (const [i, [line, exit, code]] of cases.entries()) {
      const result = results[i];
      assert.ok(result);
      assert.match(result.stderr, ONE_ERROR_LINE, line);
      assertFails(result, code, exit);
      if (line.endsWith('--json')) assert.equal(parseJson<{ error: { code: string } }>(result).error.code, code);
    }
  });

  test('every command that slipway --help lists answers --help with exit 0 and its usage line', async () => {
    const overview = await ok('--help');
    const paths = listedCommands(overview.stdout);
    assert.ok(paths.length >= 14);
    const results = await Promise.all(paths.map((path) => run(`${path} --help`)));
    for (const [i, path] of paths.entries()) {
      const result = results[i];
      assert.ok(result);
      assertOk(result, [path, '--help']);
      assert.ok(result.stdout.startsWith(`Usage: slipway ${path}`), result.stdout);
    }
  });

  test('slipway with no arguments prints the overview and exits 2', async () => {
    const result = await slipwayBin([]);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /^Usage: slipway <command>/);
  });

  test('the committed bin launcher runs the bundle', async () => {
    const launcher = fileURLToPath(new URL('../../bin/slipway.mjs', import.meta.url));
    assert.notEqual(launcher, BIN);
    const result = spawnSync(process.execPath, [launcher, 'key', 'generate', '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: slipway key generate/);
  });
});
