import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ArtifactReader,
  bufferSource,
  type Compression,
  createArtifact,
  encodeHeader,
  fileKeySigner,
  generateKeyPair,
  parsePrivateKey,
  type SlipwayError,
} from '@slipway/core';
import { DirectoryInstaller, type DirectoryInstallerOptions } from '../src/installers/directory-installer.js';

describe('the directory installer', () => {
  let dir: string;
  let n = 0;
  const signer = fileKeySigner(parsePrivateKey(generateKeyPair('ed25519').privatePem));
  const artifacts = new Map<string, Buffer>();

  /** A release tree packed by GNU tar into a signed directory artifact. */
  const build = async (version: string, compression: Compression, extraPayload = false) => {
    const src = join(dir, `src-${++n}`);
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'VERSION'), version);
    await writeFile(join(src, 'bin/app'), `#!/bin/sh\necho ${version}\n`);
    await chmod(join(src, 'bin/app'), 0o755);
    await symlink('/etc/hostname', join(src, 'hostname'));
    const tar = join(dir, `app-${n}.tar`);
    execFileSync('tar', ['-C', src, '-cf', tar, '.']);
    return artifactOf(version, compression, [tar, ...(extraPayload ? [tar] : [])]);
  };

  const artifactOf = async (version: string, compression: Compression, tars: readonly string[]) => {
    const out = join(dir, `app-${++n}.slw`);
    await createArtifact(out, {
      name: 'app',
      version,
      securityVersion: 1,
      deviceTypes: ['gw'],
      payloadType: 'directory',
      payloads: tars.map((path, i) => ({ path, name: `app-${i}.tar` })),
      compression,
      now: new Date(),
      signers: [signer],
    });
    return readFile(out);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-directory-'));
    artifacts.set('1.0', await build('1.0', 'gzip'));
    artifacts.set('2.0', await build('2.0', 'none'));
    artifacts.set('3.0', await build('3.0', 'gzip'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  // Signatures are the trust gate's job (device-trust tests); here the reader only hashes payloads.
  const reader = (bytes: Buffer) => ArtifactReader.open(bufferSource(bytes, 4096), { trust: null });
  const artifact = (version: string) => {
    const bytes = artifacts.get(version);
    assert.ok(bytes);
    return bytes;
  };

  /** A device root whose restart command logs where `current` pointed when it ran. */
  const device = async (options: Partial<DirectoryInstallerOptions> = {}) => {
    const root = join(dir, `device-${++n}`);
    await mkdir(root);
    const installer = new DirectoryInstaller({
      root,
      restartCommand: ['sh', '-c', 'echo "$(readlink current || echo none)" >> restarts.log'],
      ...options,
    });
    const restarts = async () => (await readFile(join(root, 'restarts.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const current = () => readlink(join(root, 'current'));
    const releases = async () => (await readdir(join(root, 'releases'))).sort();
    const deploy = async (version: string) => {
      const memory = await installer.store(await reader(artifact(version)));
      await installer.install(memory);
      await installer.commit(memory);
      return memory;
    };
    return { root, installer, restarts, current, releases, deploy };
  };

  test('store unpacks the release beside the running one, and install switches current to it and restarts', async () => {
    const { root, installer, restarts, current, releases, deploy } = await device();
    await deploy('1.0');
    let progress = 0;
    const memory = await installer.store(await reader(artifact('2.0')), (bytes) => {
      progress = bytes;
    });
    assert.deepEqual(memory, { releaseDir: 'releases/app-2.0', previousRelease: 'releases/app-1.0' });
    assert.ok(progress > 0 && progress % 512 === 0, 'progress counts the tar bytes');
    assert.equal(await current(), 'releases/app-1.0', 'nothing switched before install');
    assert.equal(await readFile(join(root, 'releases/app-2.0/VERSION'), 'utf8'), '2.0');
    assert.equal(await installer.runsNew(memory), false);

    assert.equal(await installer.install(memory), 'installed');
    assert.equal(await current(), 'releases/app-2.0', 'a relative link');
    assert.equal(await readFile(join(root, 'current/VERSION'), 'utf8'), '2.0');
    assert.equal((await stat(join(root, 'current/bin/app'))).mode & 0o777, 0o755);
    assert.equal(await readlink(join(root, 'current/hostname')), '/etc/hostname');
    assert.equal(await installer.runsNew(memory), true);
    assert.deepEqual(await releases(), ['app-1.0', 'app-2.0'], 'the previous release is kept');
    assert.deepEqual(await restarts(), ['releases/app-1.0', 'releases/app-2.0']);
  });

  test('rollback points current back at the previous release and restarts it', async () => {
    const { root, installer, restarts, current, deploy } = await device();
    await deploy('1.0');
    const memory = await installer.store(await reader(artifact('2.0')));
    await installer.install(memory);
    assert.equal(await installer.rollback(memory, true), 'rolledBack');
    assert.equal(await current(), 'releases/app-1.0');
    assert.equal(await readFile(join(root, 'current/VERSION'), 'utf8'), '1.0');
    assert.equal(await installer.runsNew(memory), false);
    assert.deepEqual((await restarts()).slice(-1), ['releases/app-1.0']);
  });

  test('rolling back a first install removes current', async () => {
    const { root, installer, current, restarts } = await device();
    const memory = await installer.store(await reader(artifact('1.0')));
    assert.equal(memory.previousRelease, null);
    await installer.install(memory);
    assert.equal(await current(), 'releases/app-1.0');
    assert.equal(await installer.rollback(memory, true), 'rolledBack');
    await assert.rejects(lstat(join(root, 'current')), { code: 'ENOENT' });
    assert.deepEqual((await restarts()).slice(-1), ['none']);
  });

  test('store can be repeated after a kill left a partial release and a half-made link behind', async () => {
    const { root, installer, current, releases, deploy } = await device();
    await deploy('1.0');
    await mkdir(join(root, 'releases/.incoming-app-2.0/bin'), { recursive: true });
    await writeFile(join(root, 'releases/.incoming-app-2.0/bin/half'), 'partial');
    await mkdir(join(root, 'releases/app-2.0'));
    await writeFile(join(root, 'releases/app-2.0/stale'), 'from an earlier attempt');
    await symlink('releases/nowhere', join(root, 'current.new'));

    const memory = await installer.store(await reader(artifact('2.0')));
    assert.deepEqual(await releases(), ['app-1.0', 'app-2.0']);
    assert.deepEqual((await readdir(join(root, 'releases/app-2.0'))).sort(), ['VERSION', 'bin', 'hostname']);
    assert.equal(await current(), 'releases/app-1.0');
    await installer.install(memory);
    assert.equal(await current(), 'releases/app-2.0');
    await assert.rejects(lstat(join(root, 'current.new')), { code: 'ENOENT' });
  });

  test('a payload tampered in the artifact fails verification, is cleaned up and leaves current untouched', async () => {
    const { installer, current, releases, restarts, deploy } = await device();
    await deploy('1.0');
    const tampered = Buffer.from(artifact('2.0'));
    const { payloadsOffset } = (await reader(tampered)).layout;
    const payloadBytes = (await reader(tampered)).manifest.payloads[0]?.size ?? 0;
    // Inside the stored tar (uncompressed), past the payload's own artifact header.
    const at = payloadsOffset + 512 + Math.floor(payloadBytes / 2);
    tampered.writeUInt8(tampered.readUInt8(at) ^ 0x55, at);
    const before = await restarts();
    await assert.rejects(installer.store(await reader(tampered)), (err: SlipwayError) => err.code === 'SLW_ARTIFACT_HASH_MISMATCH');
    assert.equal(await current(), 'releases/app-1.0');
    assert.deepEqual(await releases(), ['app-1.0'], 'no partial release is left');
    assert.deepEqual(await restarts(), before);
  });

  test('a payload with an entry escaping the release directory is refused and current stays', async () => {
    const { root, installer, current, releases, deploy } = await device();
    await deploy('1.0');
    const tar = join(dir, `escape-${++n}.tar`);
    const data = Buffer.from('pwned');
    await writeFile(tar, Buffer.concat([encodeHeader('../../escape', data.length, 0), data, Buffer.alloc(507 + 1024)]));
    const bytes = await artifactOf('6.6.6', 'gzip', [tar]);
    await assert.rejects(installer.store(await reader(bytes)), (err: SlipwayError) => err.code === 'SLW_INSTALLER_UNSAFE_ENTRY');
    assert.equal(await current(), 'releases/app-1.0');
    assert.deepEqual(await releases(), ['app-1.0']);
    await assert.rejects(lstat(join(root, 'escape')), { code: 'ENOENT' });
  });

  test('commit keeps the running and the previous release and prunes the older ones', async () => {
    const { root, releases, deploy, current } = await device();
    await deploy('1.0');
    await deploy('2.0');
    await mkdir(join(root, 'releases/.incoming-app-9.0'));
    await deploy('3.0');
    assert.equal(await current(), 'releases/app-3.0');
    assert.deepEqual(await releases(), ['app-2.0', 'app-3.0']);

    const three = await device({ keepReleases: 3 });
    for (const version of ['1.0', '2.0', '3.0']) await three.deploy(version);
    assert.deepEqual(await three.releases(), ['app-1.0', 'app-2.0', 'app-3.0']);
    const one = await device({ keepReleases: 1 });
    for (const version of ['1.0', '2.0']) await one.deploy(version);
    assert.deepEqual(await one.releases(), ['app-2.0']);
  });

  test('a failing restart command surfaces as SLW_INSTALLER_FAILED with the end of its stderr', async () => {
    const { installer, current } = await device({
      restartCommand: ['sh', '-c', 'echo starting; echo "port 8080 already in use" >&2; exit 3'],
    });
    const memory = await installer.store(await reader(artifact('1.0')));
    await assert.rejects(installer.install(memory), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_FAILED');
      assert.match(err.message, /exit 3/);
      assert.match(err.message, /port 8080 already in use/);
      return true;
    });
    assert.equal(await current(), 'releases/app-1.0', 'the switch happened: rollback undoes it');
    const missing = await device({ restartCommand: [join(dir, 'no-such-restart')] });
    const stored = await missing.installer.store(await reader(artifact('1.0')));
    await assert.rejects(
      missing.installer.install(stored),
      (err: SlipwayError) => err.code === 'SLW_INSTALLER_FAILED' && /ENOENT/.test(err.message),
    );
  });

  test('install, commit and rollback repeated after a kill end in the same state', async () => {
    const { installer, current, releases, deploy } = await device();
    await deploy('1.0');
    const memory = await installer.store(await reader(artifact('2.0')));
    await installer.install(memory);
    await installer.install(memory);
    assert.equal(await current(), 'releases/app-2.0');
    await installer.rollback(memory, true);
    await installer.rollback(memory, true);
    assert.equal(await current(), 'releases/app-1.0');
    await installer.install(memory);
    await installer.commit(memory);
    await installer.commit(memory);
    assert.equal(await current(), 'releases/app-2.0');
    assert.deepEqual(await releases(), ['app-1.0', 'app-2.0']);
  });

  test('reinstalling the version that runs stores it beside the running copy instead of deleting it', async () => {
    const { root, installer, current, releases, deploy } = await device();
    await deploy('1.0');
    const memory = await installer.store(await reader(artifact('1.0')));
    assert.deepEqual(memory, { releaseDir: 'releases/app-1.0@2', previousRelease: 'releases/app-1.0' });
    assert.equal(await readFile(join(root, 'current/VERSION'), 'utf8'), '1.0');
    await installer.install(memory);
    assert.equal(await current(), 'releases/app-1.0@2');
    await installer.commit(memory);
    assert.deepEqual(await releases(), ['app-1.0', 'app-1.0@2']);
  });

  test('an artifact with two payloads is refused', async () => {
    const { installer } = await device();
    const bytes = await build('5.0', 'none', true);
    await assert.rejects(installer.store(await reader(bytes)), (err: SlipwayError) => err.code === 'SLW_ARTIFACT_UNEXPECTED_ENTRY');
  });

  test('a current that is not a symlink is not replaced', async () => {
    const { root, installer } = await device();
    await mkdir(join(root, 'current'));
    await assert.rejects(installer.store(await reader(artifact('1.0'))), (err: SlipwayError) => err.code === 'SLW_INSTALLER_FAILED');
    assert.ok((await lstat(join(root, 'current'))).isDirectory());
  });
});
