// A simulated gateway on this machine: the bundled slipway-agent with its A/B slots as files, a
// file-backed boot environment and the testkit's boot simulator doing what U-Boot would. Shared by
// `npm run demo` (five of them) and `npm run gateway` (one, for the README's quickstart).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(repo, 'packages/cli/bin/slipway.mjs');
export const AGENT = join(repo, 'packages/agent/dist/slipway-agent.mjs');

/** The files of a gateway in `dir`, whether or not they exist yet. */
export function gatewayFiles(dir) {
  return {
    dir,
    configFile: join(dir, 'agent.json'),
    keyPrefix: join(dir, 'device'),
    publicKeyFile: join(dir, 'device.pub'),
    trustRootFile: join(dir, 'root.json'),
    stateDir: join(dir, 'state'),
    sanityDir: join(dir, 'sanity.d'),
    slots: { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') },
    envFile: join(dir, 'bootenv.json'),
    rebootRequestFile: join(dir, 'reboot-requested'),
    bootIdFile: join(dir, 'boot_id'),
  };
}

/**
 * Makes a gateway as a factory would: a device key (made by `slipway key generate`), slot a
 * holding the factory image, slot b empty, the boot environment on slot a with two trial boots,
 * the trust root it is built with, an empty sanity-hook directory and the agent's config.
 * `env` is the environment the CLI runs in. Returns gatewayFiles(dir) and the device key's id.
 */
export async function createGateway({
  dir,
  serial,
  deviceType,
  serverUrl,
  caFile,
  trustRootFile,
  factoryImage = randomBytes(1024 * 1024),
  pollSeconds = 2,
  env = process.env,
}) {
  const files = gatewayFiles(dir);
  await mkdir(files.stateDir, { recursive: true });
  await mkdir(files.sanityDir, { recursive: true });
  const generated = await run(process.execPath, [CLI, 'key', 'generate', '--type', 'ed25519', '--out', files.keyPrefix], { env });
  await writeFile(files.slots.a, factoryImage);
  await writeFile(files.slots.b, Buffer.alloc(0));
  await copyFile(trustRootFile, files.trustRootFile);
  await writeFile(files.envFile, JSON.stringify({ slipway_slot: 'a', bootlimit: '2' }));
  const config = {
    server: { url: serverUrl, caFile },
    device: { deviceType, identity: { serial }, keyFile: `${files.keyPrefix}.key` },
    trustRootFile: files.trustRootFile,
    stateDir: files.stateDir,
    polling: { intervalSeconds: pollSeconds, jitter: 0.1, retryMaxSeconds: Math.max(1, pollSeconds), inventoryIntervalSeconds: 3600 },
    download: { stallSeconds: 10 },
    rootfs: { slotA: files.slots.a, slotB: files.slots.b, bootloader: { type: 'file', envFile: files.envFile } },
    hooks: { sanityDir: files.sanityDir, timeoutSeconds: 10 },
    healthGate: { serverTimeoutSeconds: 5 },
    // The simulator watches this file: touching it is the agent asking for a reboot.
    rebootCommand: ['touch', files.rebootRequestFile],
    bootIdFile: files.bootIdFile,
  };
  await writeFile(files.configFile, `${JSON.stringify(config, null, 2)}\n`);
  // The key id the server shows for the device (`slipway devices show`): what an operator compares.
  const keyId = /key id: ([0-9a-f]+)/.exec(generated.stdout)?.[1] ?? null;
  return { ...files, keyId };
}

/** Whether `dir` already holds a gateway made by createGateway (its config is written last). */
export const gatewayExists = (dir) => existsSync(gatewayFiles(dir).configFile);

/** Writes an executable sanity hook into the gateway: the agent runs it after the trial boot. */
export async function writeSanityHook(files, name, script) {
  const hook = join(files.sanityDir, name);
  await writeFile(hook, script);
  await chmod(hook, 0o755);
  return hook;
}

/**
 * The boot simulator for a gateway: `bootable(sha256)` says which slot contents are a kernel that
 * comes up; the agent runs as `node slipway-agent.mjs --config agent.json` in `env`.
 */
export async function gatewaySimulator(files, { bootable, env = process.env, onOutput, onBoot }) {
  const { BootSimulator } = await import(join(repo, 'packages/testkit/dist/src/index.js'));
  return new BootSimulator({
    env: { type: 'file', envFile: files.envFile },
    slots: files.slots,
    bootIdFile: files.bootIdFile,
    rebootRequestFile: files.rebootRequestFile,
    bootable,
    agent: { command: process.execPath, args: [AGENT, '--config', files.configFile], env },
    onOutput,
    onBoot,
  });
}

export const readPublicKey = (files) => readFile(files.publicKeyFile, 'utf8');
