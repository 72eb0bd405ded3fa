import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArtifact, generateKeyPair, parsePrivateKey, type Signer } from '@slipway/core';
import { BootSimulator } from '@slipway/testkit';
import type { UpdateServer } from './update-server.js';

/** The bundled agent, as a device image ships it. */
export const AGENT_BUNDLE = fileURLToPath(new URL('../../slipway-agent.mjs', import.meta.url));

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface AgentDeviceOptions {
  readonly serial: string;
  readonly deviceType: string;
  /** root.json of the golden image. */
  readonly goldenRoot: Uint8Array;
  /** What slot a holds at manufacture: the bytes of a kernel that boots. */
  readonly factoryImage: Uint8Array;
  /** Which slot contents come up far enough to start the agent. */
  readonly bootable: (sha256: string) => boolean;
  readonly server?: UpdateServer;
  /** U-Boot's environment through the real fw_setenv (default), or the JSON file backend. */
  readonly env?: 'uboot' | 'file';
  /** A sanity hook that fails while this file exists (the test creates it to fail the health gate). */
  readonly failHealthWhileExists?: boolean;
  readonly config?: Record<string, unknown>;
  readonly onOutput?: (text: string) => void;
  /** Power cuts also kill what the agent started, e.g. fw_setenv mid-write (see BootSimulatorOptions). */
  readonly killProcessGroup?: boolean;
}

/**
 * A gateway for end-to-end tests: its own key, slots as files, a U-Boot environment written by the
 * real tools, a state directory, an agent config, and the boot simulator that runs the bundled
 * agent as a real process and reboots it when asked.
 */
export async function agentDevice(dir: string, options: AgentDeviceOptions) {
  await mkdir(join(dir, 'state'), { recursive: true });
  await mkdir(join(dir, 'sanity.d'), { recursive: true });
  const slots = { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') };
  await writeFile(slots.a, options.factoryImage);
  await writeFile(slots.b, Buffer.alloc(0));
  const key = generateKeyPair('ed25519');
  const keyFile = join(dir, 'device.key');
  await writeFile(keyFile, key.privatePem, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  await writeFile(join(dir, 'root.json'), options.goldenRoot);
  const failFlag = join(dir, 'fail-health');
  if (options.failHealthWhileExists) {
    const hook = join(dir, 'sanity.d', '50-app-healthy');
    await writeFile(hook, `#!/bin/sh\nif [ -e '${failFlag}' ]; then echo 'the app did not start' >&2; exit 1; fi\nexit 0\n`);
    await chmod(hook, 0o755);
  }
  const envKind = options.env ?? 'uboot';
  let bootloader: Record<string, unknown>;
  let simulatedEnv: ConstructorParameters<typeof BootSimulator>[0]['env'];
  if (envKind === 'uboot') {
    const image = join(dir, 'uboot-env.img');
    await writeFile(image, Buffer.alloc(2 * 0x4000));
    const configFile = join(dir, 'fw_env.config');
    // Two copies: libubootenv writes the inactive one and flips the flag, so a power cut keeps one whole.
    await writeFile(configFile, `${image} 0x0 0x4000\n${image} 0x4000 0x4000\n`);
    const defaultEnvFile = join(dir, 'u-boot-initial-env');
    await writeFile(defaultEnvFile, 'slipway_slot=a\nbootlimit=2\n');
    bootloader = { type: 'uboot', configFile, defaultEnvFile };
    simulatedEnv = { type: 'uboot', configFile, defaultEnvFile };
  } else {
    const envFile = join(dir, 'env.json');
    await writeFile(envFile, JSON.stringify({ slipway_slot: 'a', bootlimit: '2' }));
    bootloader = { type: 'file', envFile };
    simulatedEnv = { type: 'file', envFile };
  }
  const rebootRequestFile = join(dir, 'reboot-requested');
  const bootIdFile = join(dir, 'boot_id');
  const configFile = join(dir, 'agent.json');
  const serverPart = options.server
    ? {
        server: { url: options.server.url, caFile: options.server.caFile },
        device: { deviceType: options.deviceType, identity: { serial: options.serial }, keyFile },
      }
    : { device: { deviceType: options.deviceType } };
  await writeFile(
    configFile,
    JSON.stringify(
      {
        ...serverPart,
        trustRootFile: join(dir, 'root.json'),
        stateDir: join(dir, 'state'),
        polling: { intervalSeconds: 0.2, jitter: 0.1, retryMaxSeconds: 1, inventoryIntervalSeconds: 3600 },
        download: { stallSeconds: 5, maxResumes: 20 },
        rootfs: { slotA: slots.a, slotB: slots.b, bootloader },
        hooks: { sanityDir: join(dir, 'sanity.d'), timeoutSeconds: 10 },
        healthGate: { serverTimeoutSeconds: 3 },
        rebootCommand: ['touch', rebootRequestFile],
        bootIdFile,
        ...options.config,
      },
      null,
      2,
    ),
  );
  const output: string[] = [];
  const sim = new BootSimulator({
    env: simulatedEnv,
    slots,
    bootIdFile,
    rebootRequestFile,
    bootable: options.bootable,
    ...(options.killProcessGroup ? { killProcessGroup: true } : {}),
    agent: { command: process.execPath, args: [AGENT_BUNDLE, '--config', configFile] },
    onOutput: (text) => {
      output.push(text);
      options.onOutput?.(text);
    },
  });
  /** Runs one `slipway-agent` command to its end (standalone use). */
  const command = (args: readonly string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [AGENT_BUNDLE, ...args, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  return {
    dir,
    slots,
    configFile,
    stateDir: join(dir, 'state'),
    publicKeyPem: parsePrivateKey(key.privatePem).publicKey.pem,
    identity: { serial: options.serial },
    failFlag,
    bootIdFile,
    sim,
    output,
    command,
  };
}

export type AgentDevice = Awaited<ReturnType<typeof agentDevice>>;

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A signed rootfs artifact `gateway-os VERSION` of `image` in `dir` (uncompressed, as a slot image is). */
export async function rootfsArtifact(
  dir: string,
  options: { version: string; image: Uint8Array; deviceType: string; signer: Signer },
): Promise<string> {
  const payload = join(dir, `rootfs-${options.version}.img`);
  await writeFile(payload, options.image);
  const file = join(dir, `gateway-os-${options.version}.slw`);
  await createArtifact(file, {
    name: 'gateway-os',
    version: options.version,
    securityVersion: 1,
    deviceTypes: [options.deviceType],
    payloadType: 'rootfs',
    payloads: [{ path: payload, name: 'rootfs.img' }],
    compression: 'none',
    now: new Date(),
    signers: [options.signer],
  });
  return file;
}
