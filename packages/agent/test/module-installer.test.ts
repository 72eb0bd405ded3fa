import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  ArtifactReader,
  bufferSource,
  createArtifact,
  fileKeySigner,
  generateKeyPair,
  parsePrivateKey,
  type SlipwayError,
} from '@slipway/core';
import { ModuleInstaller, type ModuleInstallerOptions, moduleNameOf } from '../src/installers/module-installer.js';

const MENDER_MODULES = '/usr/share/mender/modules/v3';
const haveMenderModules = ['single-file', 'directory', 'script'].every((m) => existsSync(join(MENDER_MODULES, m)));
// CI installs mender-client, so there a missing module directory fails the tests instead of skipping them.
const skipMender =
  haveMenderModules || process.env.CI === 'true'
    ? false
    : `mender-client's update modules are not installed in ${MENDER_MODULES} (apt-get install mender-client)`;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sign = fileKeySigner(parsePrivateKey(generateKeyPair('ed25519').privatePem));
// Signatures are the trust gate's job (device-trust tests); here the reader only hashes payloads.
const reader = (bytes: Buffer) => ArtifactReader.open(bufferSource(bytes), { trust: null });

/** A killed process may linger as a zombie until its new parent reaps it: dead all the same. */
async function liveState(pid: number): Promise<string> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? 'gone or a zombie' : `running (${state})`;
  } catch {
    return 'gone or a zombie';
  }
}

describe('the update module installer (Mender Update Module v3)', () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-modules-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const fresh = async () => {
    const dir = join(root, String(++n));
    await mkdir(dir);
    return dir;
  };

  /** A signed artifact with these payloads (name → content), in manifest order. */
  const artifact = async (
    payloadType: string,
    payloads: Record<string, string | Uint8Array>,
    extra: { version?: string; metadata?: Record<string, unknown> } = {},
  ): Promise<Buffer> => {
    const dir = await fresh();
    for (const [name, content] of Object.entries(payloads)) await writeFile(join(dir, name), content);
    const out = join(dir, 'update.slw');
    await createArtifact(out, {
      name: 'gateway-app',
      version: extra.version ?? '2.0',
      securityVersion: 1,
      deviceTypes: ['gw'],
      payloadType,
      payloads: Object.keys(payloads).map((name) => ({ path: join(dir, name), name })),
      compression: 'gzip',
      metadata: extra.metadata,
      now: new Date(),
      signers: [sign],
    });
    return readFile(out);
  };

  /** A module of our own that appends `STATE FILES_DIR PWD` to `calls` and runs `body` (a case arm list). */
  const ownModule = async (name: string, body: string) => {
    const dir = await fresh();
    const calls = join(dir, 'calls');
    await writeFile(join(dir, name), `#!/bin/sh\nset -e\necho "$1 $2 $(pwd)" >> ${calls}\ncase "$1" in\n${body}\nesac\nexit 0\n`);
    await chmod(join(dir, name), 0o755);
    return {
      dir,
      calls: async () =>
        (await readFile(calls, 'utf8').catch(() => ''))
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ')),
    };
  };

  const installer = (options: Partial<ModuleInstallerOptions> & Pick<ModuleInstallerOptions, 'name' | 'modulesDirs'>, workDir: string) =>
    new ModuleInstaller({ workDir, deviceType: 'gw', timeoutMs: 10_000, ...options });

  test('single-file installs the payload file into dest_dir with its permissions, and commit leaves it there', {
    skip: skipMender,
  }, async () => {
    assert.ok(haveMenderModules, `CI must install mender-client: no update modules in ${MENDER_MODULES}`);
    const device = await fresh();
    const dest = join(device, 'etc-app');
    await mkdir(dest);
    await writeFile(join(dest, 'app.conf'), 'version 1\n');
    const bytes = await artifact('module:single-file', {
      dest_dir: dest,
      filename: 'app.conf',
      permissions: '0640',
      'app.conf': 'version 2\n',
    });
    const work = join(device, 'state', 'modules', 'single-file');
    const lines: string[] = [];
    const module = installer({ name: 'single-file', modulesDirs: [MENDER_MODULES], log: (l) => lines.push(l) }, work);
    const memory = await module.store(await reader(bytes));
    assert.deepEqual(memory, { module: 'single-file', streamed: false, payloadBytes: dest.length + 8 + 4 + 10 });
    assert.equal(await readFile(join(module.tree, 'files', 'app.conf'), 'utf8'), 'version 2\n');
    assert.equal(await readFile(join(dest, 'app.conf'), 'utf8'), 'version 1\n', 'Download never installs');
    assert.equal(await readFile(join(module.tree, 'header', 'artifact_name'), 'utf8'), 'gateway-app-2.0');
    assert.equal(await readFile(join(module.tree, 'header', 'payload_type'), 'utf8'), 'single-file');
    assert.equal(await readFile(join(module.tree, 'current_device_type'), 'utf8'), 'gw\n');
    assert.equal(await module.install(memory), 'installed');
    assert.equal(await readFile(join(dest, 'app.conf'), 'utf8'), 'version 2\n');
    assert.equal((await stat(join(dest, 'app.conf'))).mode & 0o777, 0o640);
    assert.equal(await module.runsNew(memory), true);
    await module.commit(memory);
    assert.equal(existsSync(module.tree), false, 'Cleanup removes the files tree');
    assert.equal(await readFile(join(dest, 'app.conf'), 'utf8'), 'version 2\n');
    assert.ok(lines.includes('module single-file ArtifactInstall: exit 0'));
  });

  test('single-file rolls back to the previous file', { skip: skipMender }, async () => {
    assert.ok(haveMenderModules, `CI must install mender-client: no update modules in ${MENDER_MODULES}`);
    const device = await fresh();
    const dest = join(device, 'etc-app');
    await mkdir(dest);
    await writeFile(join(dest, 'app.conf'), 'version 1\n');
    const bytes = await artifact('module:single-file', { dest_dir: dest, filename: 'app.conf', 'app.conf': 'version 2\n' });
    const module = installer({ name: 'single-file', modulesDirs: [MENDER_MODULES] }, join(device, 'work'));
    const memory = await module.store(await reader(bytes));
    assert.equal(await module.install(memory), 'installed');
    assert.equal(await readFile(join(dest, 'app.conf'), 'utf8'), 'version 2\n');
    assert.equal(await module.rollback(memory, true), 'rolledBack');
    assert.equal(await readFile(join(dest, 'app.conf'), 'utf8'), 'version 1\n');
    assert.equal(existsSync(module.tree), false);
  });

  test('directory replaces dest_dir with update.tar and rolls back to what was there', { skip: skipMender }, async () => {
    assert.ok(haveMenderModules, `CI must install mender-client: no update modules in ${MENDER_MODULES}`);
    const device = await fresh();
    const dest = join(device, 'www');
    await mkdir(dest);
    await writeFile(join(dest, 'index.html'), 'old site');
    await writeFile(join(dest, 'old-only.txt'), 'gone after the update');
    const content = join(device, 'content');
    await mkdir(join(content, 'css'), { recursive: true });
    await writeFile(join(content, 'index.html'), 'new site');
    await writeFile(join(content, 'css', 'site.css'), 'body {}');
    await promisify(execFile)('tar', ['-cf', join(device, 'update.tar'), '-C', content, '.']);
    const bytes = await artifact('module:directory', { 'update.tar': await readFile(join(device, 'update.tar')), dest_dir: dest });
    const module = installer({ name: 'directory', modulesDirs: [MENDER_MODULES] }, join(device, 'work'));
    const memory = await module.store(await reader(bytes));
    assert.equal(await module.install(memory), 'installed');
    assert.deepEqual((await readdir(dest)).sort(), ['css', 'index.html']);
    assert.equal(await readFile(join(dest, 'css', 'site.css'), 'utf8'), 'body {}');
    assert.equal(await module.rollback(memory, true), 'rolledBack');
    assert.deepEqual((await readdir(dest)).sort(), ['index.html', 'old-only.txt']);
    assert.equal(await readFile(join(dest, 'index.html'), 'utf8'), 'old site');
  });

  test('script runs the payload script at install', { skip: skipMender }, async () => {
    assert.ok(haveMenderModules, `CI must install mender-client: no update modules in ${MENDER_MODULES}`);
    const device = await fresh();
    const marker = join(device, 'marker');
    const bytes = await artifact('module:script', { 'migrate.sh': `#!/bin/sh\necho "migrated from $(pwd)" > ${marker}\n` });
    const module = installer({ name: 'script', modulesDirs: [MENDER_MODULES] }, join(device, 'work'));
    const memory = await module.store(await reader(bytes));
    assert.equal(existsSync(marker), false);
    assert.equal(await module.install(memory), 'installed');
    assert.equal(await readFile(marker, 'utf8'), `migrated from ${module.tree}\n`);
    await module.commit(memory);
  });

  test('states run in protocol order with STATE and FILES_DIR as arguments and FILES_DIR as working directory', async () => {
    const device = await fresh();
    const { dir, calls } = await ownModule(
      'recorder',
      `Download) { [ -p stream-next ] && echo fifo; [ -e files ] || echo no-files; cat header/artifact_name; echo; cat version; } > tmp/seen-in-download ;;
       ArtifactInstall) cat files/a.txt files/b.txt > ${device}/installed; cp tmp/seen-in-download ${device}/seen ;;
       NeedsArtifactReboot) echo Automatic ;;
       SupportsRollback) echo Yes ;;`,
    );
    const bytes = await artifact('module:recorder', { 'a.txt': 'A', 'b.txt': 'B' }, { metadata: { channel: 'beta' } });
    const module = installer({ name: 'recorder', modulesDirs: [join(device, 'nowhere'), dir] }, join(device, 'work'));
    const memory = await module.store(await reader(bytes));
    assert.equal(await readFile(join(module.tree, 'header', 'meta-data'), 'utf8'), JSON.stringify({ channel: 'beta' }, null, 2));
    assert.equal(await module.install(memory), 'needsReboot');
    assert.equal(await readFile(join(device, 'installed'), 'utf8'), 'AB');
    assert.equal(await readFile(join(device, 'seen'), 'utf8'), 'fifo\nno-files\ngateway-app-2.0\n3\n');
    assert.equal(await module.runsNew(memory), true);
    await module.commit(memory);
    const seen = await calls();
    assert.deepEqual(
      seen.map(([state]) => state),
      ['Download', 'ArtifactInstall', 'NeedsArtifactReboot', 'SupportsRollback', 'ArtifactVerifyReboot', 'ArtifactCommit', 'Cleanup'],
    );
    for (const [, filesDir, cwd] of seen) {
      assert.equal(filesDir, module.tree);
      assert.equal(cwd, module.tree);
    }
  });

  test('a rollback runs ArtifactRollback, ArtifactFailure and Cleanup, and reboots when the module needed one and the new software runs', async () => {
    const device = await fresh();
    const { dir, calls } = await ownModule('recorder', 'NeedsArtifactReboot) echo Automatic ;; SupportsRollback) echo Yes ;;');
    const module = installer({ name: 'recorder', modulesDirs: [dir] }, join(device, 'work'));
    const memory = await module.store(await reader(await artifact('module:recorder', { 'a.txt': 'A' })));
    assert.equal(await module.install(memory), 'needsReboot');
    assert.equal(await module.runsNew(memory), true);
    assert.equal(await module.rollback(memory, true), 'needsReboot');
    assert.equal(await module.rollback(memory, true), 'needsReboot', 'a repeated rollback (after a kill) runs no state twice');
    assert.deepEqual(
      (await calls()).map(([state]) => state),
      [
        'Download',
        'ArtifactInstall',
        'NeedsArtifactReboot',
        'SupportsRollback',
        'ArtifactVerifyReboot',
        'ArtifactRollback',
        'ArtifactFailure',
        'Cleanup',
      ],
    );
  });

  test('a failed ArtifactVerifyReboot is thrown so that the rollback path runs', async () => {
    const device = await fresh();
    const { dir } = await ownModule(
      'recorder',
      'NeedsArtifactReboot) echo Yes ;; SupportsRollback) echo Yes ;; ArtifactVerifyReboot) echo "booted the old slot" >&2; exit 1 ;;',
    );
    const module = installer({ name: 'recorder', modulesDirs: [dir] }, join(device, 'work'));
    const memory = await module.store(await reader(await artifact('module:recorder', { 'a.txt': 'A' })));
    assert.equal(await module.install(memory), 'needsReboot');
    await assert.rejects(module.runsNew(memory), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_FAILED');
      assert.match(err.message, /ArtifactVerifyReboot \(exit 1\): booted the old slot/);
      return true;
    });
  });

  test('a module that cannot roll back gets ArtifactFailure and Cleanup, and the rollback is reported as a failure', async () => {
    const device = await fresh();
    const { dir, calls } = await ownModule('recorder', 'SupportsRollback) echo No ;;');
    const module = installer({ name: 'recorder', modulesDirs: [dir] }, join(device, 'work'));
    const memory = await module.store(await reader(await artifact('module:recorder', { 'a.txt': 'A' })));
    assert.equal(await module.install(memory), 'installed');
    await assert.rejects(module.rollback(memory, true), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_FAILED');
      assert.match(err.message, /does not support rollback/);
      return true;
    });
    assert.deepEqual(
      (await calls()).map(([state]) => state),
      ['Download', 'ArtifactInstall', 'NeedsArtifactReboot', 'SupportsRollback', 'ArtifactFailure', 'Cleanup'],
    );
    assert.equal(existsSync(module.tree), false);
  });

  test('a module that reads stream-next gets every payload streamed through FIFOs and no files directory', async () => {
    const device = await fresh();
    const { dir, calls } = await ownModule(
      'streamer',
      `Download)
         while :; do
           next=$(cat stream-next)
           [ -z "$next" ] && break
           cat "$next" > "tmp/$(basename "$next")"
           echo "$next" >> tmp/announced
         done ;;
       ArtifactInstall) [ ! -e files ] && cp tmp/big.bin tmp/small.txt tmp/announced ${device}/ ;;`,
    );
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const bytes = await artifact('module:streamer', { 'big.bin': big, 'small.txt': 'small' });
    const module = installer({ name: 'streamer', modulesDirs: [dir] }, join(device, 'work'));
    let reported = 0;
    const memory = await module.store(await reader(bytes), (b) => {
      reported = b;
    });
    assert.deepEqual(memory, { module: 'streamer', streamed: true, payloadBytes: big.length + 5 });
    assert.equal(reported, big.length + 5);
    assert.equal(await module.install(memory), 'installed');
    assert.equal(sha(await readFile(join(device, 'big.bin'))), sha(big));
    assert.equal(await readFile(join(device, 'small.txt'), 'utf8'), 'small');
    assert.equal(await readFile(join(device, 'announced'), 'utf8'), 'streams/big.bin\nstreams/small.txt\n');
    assert.deepEqual(
      (await calls()).map(([state]) => state),
      ['Download', 'ArtifactInstall', 'NeedsArtifactReboot', 'SupportsRollback'],
    );
  });

  test('a payload tampered mid-stream stops the streaming Download before its end is announced, and only Cleanup follows', async () => {
    const device = await fresh();
    const { dir, calls } = await ownModule(
      'streamer',
      `Download)
         while :; do
           next=$(cat stream-next)
           [ -z "$next" ] && break
           cat "$next" > /dev/null
         done
         touch ${device}/download-finished ;;`,
    );
    const tampered = Buffer.from(await artifact('module:streamer', { 'big.bin': randomBytes(2 * 1024 * 1024) }));
    const at = tampered.length - 200_000;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 0x55, at);
    const module = installer({ name: 'streamer', modulesDirs: [dir] }, join(device, 'work'));
    await assert.rejects(module.store(await reader(tampered)), (err: SlipwayError) => err.code.startsWith('SLW_ARTIFACT_'));
    assert.equal(existsSync(join(device, 'download-finished')), false);
    assert.deepEqual(
      (await calls()).map(([state]) => state),
      ['Download', 'Cleanup'],
    );
    assert.equal(existsSync(module.tree), false);
  });

  test('a state that exits non-zero fails with SLW_INSTALLER_FAILED naming the state and the end of its stderr', async () => {
    const device = await fresh();
    const { dir } = await ownModule('broken', 'ArtifactInstall) echo "checking disk" >&2; echo "disk on fire" >&2; exit 3 ;;');
    const lines: string[] = [];
    const module = installer({ name: 'broken', modulesDirs: [dir], log: (l) => lines.push(l) }, join(device, 'work'));
    const memory = await module.store(await reader(await artifact('module:broken', { 'a.txt': 'A' })));
    await assert.rejects(module.install(memory), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_FAILED');
      assert.equal(err.message, 'update module broken failed in ArtifactInstall (exit 3): checking disk\ndisk on fire');
      return true;
    });
    assert.ok(lines.includes('module broken ArtifactInstall: disk on fire'));
    assert.ok(lines.includes('module broken ArtifactInstall: exit 3'));
    await assert.rejects(
      module.install(memory),
      /stopped in ArtifactInstall/,
      'ArtifactInstall never runs twice: a rerun goes to rollback',
    );
  });

  test('a module hanging past its time is killed with what it started', async () => {
    const device = await fresh();
    const pidFile = join(device, 'child');
    const { dir } = await ownModule('hanging', `ArtifactInstall) sleep 60 & echo $! > ${pidFile}; wait ;;`);
    const module = installer({ name: 'hanging', modulesDirs: [dir], timeoutMs: 300 }, join(device, 'work'));
    const memory = await module.store(await reader(await artifact('module:hanging', { 'a.txt': 'A' })));
    const started = Date.now();
    await assert.rejects(module.install(memory), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_FAILED');
      assert.match(err.message, /ArtifactInstall \(timed out after 300 ms\)/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    const pid = Number(await readFile(pidFile, 'utf8'));
    assert.equal(await liveState(pid), 'gone or a zombie');
  });

  test('an unexpected answer to NeedsArtifactReboot is a protocol failure', async () => {
    const device = await fresh();
    const { dir } = await ownModule('vague', 'NeedsArtifactReboot) echo Maybe ;;');
    const module = installer({ name: 'vague', modulesDirs: [dir] }, join(device, 'work'));
    const memory = await module.store(await reader(await artifact('module:vague', { 'a.txt': 'A' })));
    await assert.rejects(module.install(memory), /answered NeedsArtifactReboot with "Maybe"/);
  });

  test('store starts from a fresh tree each time', async () => {
    const device = await fresh();
    const { dir } = await ownModule('recorder', '');
    const module = installer({ name: 'recorder', modulesDirs: [dir] }, join(device, 'work'));
    const bytes = await artifact('module:recorder', { 'a.txt': 'A' });
    await module.store(await reader(bytes));
    await writeFile(join(module.tree, 'tmp', 'left-over'), 'x');
    await writeFile(join(module.tree, 'files', 'a.txt'), 'changed');
    const memory = await module.store(await reader(bytes));
    assert.equal(existsSync(join(module.tree, 'tmp', 'left-over')), false);
    assert.equal(await readFile(join(module.tree, 'files', 'a.txt'), 'utf8'), 'A');
    assert.equal(await module.install(memory), 'installed');
  });

  test('a missing module is unsupported, and the first modules directory that has it wins', async () => {
    const device = await fresh();
    const first = await ownModule('dup', '');
    const second = await ownModule('dup', '');
    assert.equal(ModuleInstaller.locate('dup', [join(device, 'none'), first.dir, second.dir]), join(first.dir, 'dup'));
    assert.equal(ModuleInstaller.locate('absent', [first.dir, second.dir]), null);
    assert.equal(ModuleInstaller.locate('../dup', [join(first.dir, 'x')]), null, 'a name never climbs out of its directory');
    assert.equal(ModuleInstaller.find({ name: 'absent', modulesDirs: [first.dir], workDir: join(device, 'w') }), undefined);
    assert.ok(ModuleInstaller.find({ name: 'dup', modulesDirs: [first.dir], workDir: join(device, 'w') }));
    assert.equal(moduleNameOf('module:single-file'), 'single-file');
    assert.equal(moduleNameOf('rootfs'), null);
    const module = installer({ name: 'absent', modulesDirs: [first.dir] }, join(device, 'w'));
    await assert.rejects(module.store(await reader(await artifact('module:absent', { 'a.txt': 'A' }))), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_UNSUPPORTED');
      return true;
    });
  });
});
