import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertOwnerOnly,
  type DeviceIdentity,
  fileError,
  fileKeySigner,
  parsePrivateKey,
  readSecretFile,
  SlipwayError,
} from '@slipway/core';
import type { Bootloader } from '../bootloader/bootloader.js';
import { createBootloader } from '../bootloader/create-bootloader.js';
import type { AgentConfig } from '../config/agent-config.js';
import { DirectoryInstaller } from '../installers/directory-installer.js';
import type { Installer } from '../installers/installer.js';
import { ModuleInstaller } from '../installers/module-installer.js';
import { RootfsInstaller } from '../installers/rootfs-installer.js';
import { StateStore } from '../state/state-store.js';
import { DeviceClient } from '../transport/device-client.js';
import { DeviceTrust } from '../trust/device-trust.js';

/** What the daemon and the standalone commands share, built once from the config. */
export interface AgentRuntime {
  readonly config: AgentConfig;
  readonly trust: DeviceTrust;
  readonly store: StateStore;
  readonly bootloader: Bootloader | null;
  /** Null without a server in the config (standalone only). */
  readonly client: DeviceClient | null;
  installerFor(payloadType: string): Installer;
  bootId(): Promise<string>;
  /** Runs the reboot command; a real reboot then ends this process. */
  reboot(): Promise<void>;
  readonly log: (line: string) => void;
}

export async function createRuntime(config: AgentConfig, log: (line: string) => void): Promise<AgentRuntime> {
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const bootloader = config.rootfs ? createBootloader(config.rootfs.bootloader) : null;
  const installers = new Map<string, Installer>();
  const installerFor = (payloadType: string): Installer => {
    const known = installers.get(payloadType);
    if (known) return known;
    let installer: Installer | undefined;
    if (payloadType === 'rootfs' && config.rootfs && bootloader) {
      installer = new RootfsInstaller({ a: config.rootfs.slotA, b: config.rootfs.slotB }, bootloader);
    } else if (payloadType === 'directory' && config.directory) {
      installer = new DirectoryInstaller({
        root: config.directory.root,
        keepReleases: config.directory.keepReleases,
        ...(config.directory.restartCommand ? { restartCommand: config.directory.restartCommand } : {}),
      });
    } else if (payloadType.startsWith('module:')) {
      const name = payloadType.slice('module:'.length);
      installer = ModuleInstaller.find({
        name,
        modulesDirs: config.modules.dirs,
        workDir: join(config.stateDir, 'modules', name),
        timeoutMs: config.modules.timeoutMs,
        deviceType: config.device.deviceType,
        log,
      });
    }
    if (!installer)
      throw new SlipwayError(
        'SLW_INSTALLER_UNSUPPORTED',
        `this device is not set up to install ${payloadType} payloads (see its agent config)`,
      );
    installers.set(payloadType, installer);
    return installer;
  };
  return {
    config,
    trust: new DeviceTrust(config.stateDir, config.trustRootFile),
    store: new StateStore(join(config.stateDir, 'update.json')),
    bootloader,
    client: config.server ? await createClient(config) : null,
    installerFor,
    bootId: async () => {
      try {
        return (await readFile(config.bootIdFile, 'utf8')).trim();
      } catch (err) {
        throw fileError(err, config.bootIdFile, 'read');
      }
    },
    reboot: () => runReboot(config.rebootCommand),
    log,
  };
}

async function createClient(config: AgentConfig): Promise<DeviceClient> {
  const server = config.server as NonNullable<AgentConfig['server']>;
  const keyFile = config.device.keyFile as string;
  const keyPem = await readPrivate(keyFile);
  const key = parsePrivateKey(keyPem, keyFile);
  const certificate = config.device.certificateFile ? await readText(config.device.certificateFile) : undefined;
  return new DeviceClient({
    url: server.url,
    ca: await readText(server.caFile),
    identity: await identityOf(config),
    signer: fileKeySigner(key),
    publicKeyPem: key.publicKey.pem,
    ...(certificate ? { certificate } : {}),
    ...(server.mtls && certificate ? { clientCertificate: { cert: certificate, key: keyPem } } : {}),
  });
}

async function identityOf(config: AgentConfig): Promise<DeviceIdentity> {
  if (config.device.identity) return config.device.identity;
  const file = config.device.identityFile as string;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(file));
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('SLW_CONFIG_INVALID', `${file} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Object.values(parsed).some((v) => typeof v !== 'string'))
    throw new SlipwayError('SLW_CONFIG_INVALID', `${file} must hold an object of identity attribute names to string values`);
  return parsed as DeviceIdentity;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw fileError(err, path, 'read');
  }
}

/** The device key must be readable by its owner only: anyone who reads it can be this device. */
async function readPrivate(path: string): Promise<string> {
  const { bytes, mode } = await readSecretFile(path);
  assertOwnerOnly(path, mode);
  return bytes.toString('utf8');
}

function runReboot(command: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new SlipwayError('SLW_AGENT_REBOOT_PENDING', `the reboot command ${file} could not start (${(err as NodeJS.ErrnoException).code})`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new SlipwayError('SLW_AGENT_REBOOT_PENDING', `the reboot command ${command.join(' ')} ended with ${signal ?? `exit ${code}`}`),
        );
    });
  });
}
