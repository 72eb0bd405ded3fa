import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ArtifactReader,
  bufferSource,
  createArtifact,
  fileKeySigner,
  generateKeyPair,
  parsePrivateKey,
  type SlipwayError,
} from '@slipway/core';
import { FileBootloader } from '../src/bootloader/file.js';
import { RootfsInstaller } from '../src/installers/rootfs-installer.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the rootfs A/B installer', () => {
  let dir: string;
  let image: Buffer;
  let artifact: Buffer;
  let n = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-rootfs-'));
    image = randomBytes(2 * 1024 * 1024 + 3);
    await writeFile(join(dir, 'rootfs.img'), image);
    await createArtifact(join(dir, 'os.slw'), {
      name: 'gateway-os',
      version: '2.0',
      securityVersion: 1,
      deviceTypes: ['gw'],
      payloadType: 'rootfs',
      payloads: [{ path: join(dir, 'rootfs.img'), name: 'rootfs.img' }],
      compression: 'gzip',
      now: new Date(),
      signers: [fileKeySigner(parsePrivateKey(generateKeyPair('ed25519').privatePem))],
    });
    artifact = await readFile(join(dir, 'os.slw'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const device = async () => {
    const d = join(dir, `device-${++n}`);
    await mkdir(d);
    const slots = { a: join(d, 'slot-a.img'), b: join(d, 'slot-b.img') };
    const running = randomBytes(1024 * 1024);
    await writeFile(slots.a, running);
    const bootloader = new FileBootloader({ envFile: join(d, 'env.json') });
    return { slots, running, bootloader, installer: new RootfsInstaller(slots, bootloader) };
  };
  // Signatures are the trust gate's job (device-trust tests); here the reader only hashes payloads.
  const reader = (bytes: Buffer) => ArtifactReader.open(bufferSource(bytes), { trust: null });

  test('the payload goes to the inactive slot, then a trial boot of it, then commit', async () => {
    const { slots, running, bootloader, installer } = await device();
    const memory = await installer.store(await reader(artifact));
    assert.deepEqual(memory, { previousSlot: 'a', targetSlot: 'b', imageBytes: image.length });
    assert.equal(sha(await readFile(slots.b)), sha(image));
    assert.equal(sha(await readFile(slots.a)), sha(running), 'the running slot is untouched');
    assert.equal((await bootloader.read()).upgradeAvailable, false, 'nothing switched before install');
    assert.equal(await installer.install(memory), 'needsReboot');
    assert.deepEqual(await bootloader.read(), { active: 'b', upgradeAvailable: true, bootcount: 0, bootlimit: 3 });
    assert.equal(await installer.runsNew(memory), true);
    await installer.commit(memory);
    assert.equal((await bootloader.read()).upgradeAvailable, false);
    assert.equal((await bootloader.read()).active, 'b');
  });

  test('a payload tampered mid-stream leaves the active slot untouched and never switches the bootloader', async () => {
    const { slots, running, bootloader, installer } = await device();
    const tampered = Buffer.from(artifact);
    const at = tampered.length - 200_000;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 0x55, at);
    const env = await bootloader.read();
    await assert.rejects(installer.store(await reader(tampered)), (err: SlipwayError) => err.code.startsWith('SLW_ARTIFACT_'));
    assert.equal(sha(await readFile(slots.a)), sha(running));
    assert.deepEqual(await bootloader.read(), env);
  });

  test('a fallen-back trial is seen, and rollback reverts the bootloader (rebooting only if the new slot runs)', async () => {
    const { bootloader, installer } = await device();
    const memory = await installer.store(await reader(artifact));
    await installer.install(memory);
    // The boot script gave up on slot b: back to a, trial off.
    await bootloader.revert('a');
    assert.equal(await installer.runsNew(memory), false);
    await bootloader.trial('b');
    assert.equal(await installer.rollback(memory, true), 'needsReboot');
    assert.deepEqual(await bootloader.read(), { active: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
    assert.equal(await installer.rollback(memory, false), 'rolledBack');
  });

  test('a commit after the bootloader fell back is refused, so the old slot is never recorded as the new release', async () => {
    const { bootloader, installer } = await device();
    const memory = await installer.store(await reader(artifact));
    await installer.install(memory);
    // Power cuts after the health gate used up the trial boots: U-Boot went back to slot a.
    await bootloader.revert('a');
    await assert.rejects(installer.commit(memory), (err: SlipwayError) => err.code === 'SLW_INSTALLER_FAILED');
    assert.deepEqual(await bootloader.read(), { active: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
  });
});
