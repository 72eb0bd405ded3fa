import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { fileError, parseJson, SlipwayError, validateSchema } from '@slipway/core';

/** Where the agent looks for its config when neither `--config` nor SLIPWAY_AGENT_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = '/etc/slipway/agent.json';

const Path = Type.String({ minLength: 1, maxLength: 4096 });
const Seconds = (minimum: number, maximum: number) => Type.Number({ minimum, maximum });
const Command = Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 64 });

const BootloaderSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('uboot'), Type.Literal('grub'), Type.Literal('file')]),
    envFile: Type.Optional(Path),
    configFile: Type.Optional(Path),
    defaultEnvFile: Type.Optional(Path),
    slotVariable: Type.Optional(Type.String()),
    bootlimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
  },
  { additionalProperties: false },
);

export const AgentConfigSchema = Type.Object(
  {
    /** Absent: standalone only (`slipway-agent install`); the daemon needs a server. */
    server: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https://' }),
          /** The CA the server's certificate must chain to: pinned, the system store is not used. */
          caFile: Path,
          /** Present the device certificate as a TLS client certificate (default: when there is one). */
          mtls: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * The per-device file `slipway provision` writes on the data partition (server, CA, identity,
     * key, certificate, device type); what this config sets itself wins.
     */
    deviceFile: Type.Optional(Path),
    device: Type.Optional(
      Type.Object(
        {
          deviceType: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          /** The identity attributes, inline or in a JSON file written by provisioning. */
          identity: Type.Optional(Type.Record(Type.String(), Type.String())),
          identityFile: Type.Optional(Path),
          /** PKCS#8 PEM, mode 0600. */
          keyFile: Type.Optional(Path),
          certificateFile: Type.Optional(Path),
        },
        { additionalProperties: false },
      ),
    ),
    /** root.json from the golden image. */
    trustRootFile: Path,
    stateDir: Type.Optional(Path),
    polling: Type.Optional(
      Type.Object(
        {
          intervalSeconds: Type.Optional(Seconds(0.05, 7 * 86400)),
          /** Each wait is spread by up to this share either way, so a fleet does not call in step. */
          jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
          /** Errors back off exponentially from 1 s up to this. */
          retryMaxSeconds: Type.Optional(Seconds(0.05, 86400)),
          inventoryIntervalSeconds: Type.Optional(Seconds(1, 30 * 86400)),
        },
        { additionalProperties: false },
      ),
    ),
    download: Type.Optional(
      Type.Object(
        {
          minBytesPerSecond: Type.Optional(Type.Integer({ minimum: 0 })),
          stallSeconds: Type.Optional(Seconds(1, 3600)),
          /** 0: no limit. */
          timeoutSeconds: Type.Optional(Seconds(0, 7 * 86400)),
          maxResumes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    rootfs: Type.Optional(
      Type.Object(
        {
          slotA: Path,
          slotB: Path,
          bootloader: BootloaderSchema,
        },
        { additionalProperties: false },
      ),
    ),
    directory: Type.Optional(
      Type.Object(
        {
          root: Path,
          restartCommand: Type.Optional(Command),
          keepReleases: Type.Optional(Type.Integer({ minimum: 2, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
    modules: Type.Optional(
      Type.Object(
        {
          dirs: Type.Optional(Type.Array(Path, { maxItems: 16 })),
          timeoutSeconds: Type.Optional(Seconds(1, 86400)),
        },
        { additionalProperties: false },
      ),
    ),
    hooks: Type.Optional(
      Type.Object(
        {
          /** Sanity checks after a trial boot: every executable must exit 0. */
          sanityDir: Type.Optional(Path),
          /** Mender-style state scripts: `Download_Enter_10`, `ArtifactCommit_Leave_50` … */
          stateScriptsDir: Type.Optional(Path),
          timeoutSeconds: Type.Optional(Seconds(1, 86400)),
        },
        { additionalProperties: false },
      ),
    ),
    inventory: Type.Optional(
      Type.Object(
        {
          /** Executables printing `name=value` lines, added to the built-in attributes. */
          scriptsDir: Type.Optional(Path),
        },
        { additionalProperties: false },
      ),
    ),
    healthGate: Type.Optional(
      Type.Object(
        {
          /** After a trial boot the device must reach the server again (off for devices that are offline by design). */
          requireServer: Type.Optional(Type.Boolean()),
          serverTimeoutSeconds: Type.Optional(Seconds(1, 86400)),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Optional MQTT wake-ups: the agent subscribes to PREFIX/devices/DEVICE_ID/wake and asks for
     * its deployment at once when the server says a phase started (it still polls as configured).
     */
    mqtt: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^mqtts?://' }),
          /** The CA the broker's certificate must chain to (mqtts); the system's CAs when absent. */
          caFile: Type.Optional(Path),
          topicPrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_./-]+$' })),
          username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          /** A file holding the broker password, mode 0600. */
          passwordFile: Type.Optional(Path),
        },
        { additionalProperties: false },
      ),
    ),
    rebootCommand: Type.Optional(Command),
    /** Changes at every boot; the agent recognises a reboot by it. */
    bootIdFile: Type.Optional(Path),
    logs: Type.Optional(
      Type.Object(
        {
          /** 32 random bytes, 0600, created on first use. */
          keyFile: Type.Optional(Path),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

type RawConfig = Static<typeof AgentConfigSchema>;

/** The config with every default filled in and every path absolute. */
export interface AgentConfig {
  readonly file: string;
  readonly server: { readonly url: string; readonly caFile: string; readonly mtls: boolean } | null;
  readonly device: {
    readonly deviceType: string;
    readonly identity: Readonly<Record<string, string>> | null;
    readonly identityFile: string | null;
    readonly keyFile: string | null;
    readonly certificateFile: string | null;
  };
  readonly trustRootFile: string;
  readonly stateDir: string;
  readonly polling: {
    readonly intervalMs: number;
    readonly jitter: number;
    readonly retryMaxMs: number;
    readonly inventoryIntervalMs: number;
  };
  readonly download: {
    readonly minBytesPerSecond: number;
    readonly stallMs: number;
    readonly timeoutMs: number;
    readonly maxResumes: number;
  };
  readonly rootfs: RawConfig['rootfs'] | null;
  readonly directory: { readonly root: string; readonly restartCommand: readonly string[] | null; readonly keepReleases: number } | null;
  readonly modules: { readonly dirs: readonly string[]; readonly timeoutMs: number };
  readonly hooks: { readonly sanityDir: string | null; readonly stateScriptsDir: string | null; readonly timeoutMs: number };
  readonly inventory: { readonly scriptsDir: string | null };
  readonly healthGate: { readonly requireServer: boolean; readonly serverTimeoutMs: number };
  readonly mqtt: {
    readonly url: string;
    readonly caFile: string | null;
    readonly topicPrefix: string;
    readonly username: string | null;
    readonly passwordFile: string | null;
  } | null;
  readonly rebootCommand: readonly string[];
  readonly bootIdFile: string;
  readonly logs: { readonly keyFile: string };
}

/** Reads and checks the agent's config; relative paths are taken from the config file's directory. */
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw fileError(err, file, 'read');
  }
  const raw = validateSchema(AgentConfigSchema, parseJson(bytes, 'SLW_CONFIG_INVALID', file), 'SLW_CONFIG_INVALID', file);
  return resolveConfig(raw.deviceFile ? await withDeviceFile(raw, resolve(dirname(resolve(file)), raw.deviceFile)) : raw, file);
}

/** What `slipway provision` writes per device (packages/cli/src/commands/provision.ts). */
const ProvisionedSchema = Type.Object({
  server: Type.String({ pattern: '^https://' }),
  serverCaFile: Type.Optional(Path),
  deviceType: Type.String({ minLength: 1, maxLength: 128 }),
  identityFile: Path,
  keyFile: Path,
  certificateFile: Path,
});

/** Fills the server and device settings from the provisioned per-device file; its paths are relative to it. */
async function withDeviceFile(raw: RawConfig, deviceFile: string): Promise<RawConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(deviceFile);
  } catch (err) {
    throw fileError(err, deviceFile, 'read');
  }
  const device = validateSchema(ProvisionedSchema, parseJson(bytes, 'SLW_CONFIG_INVALID', deviceFile), 'SLW_CONFIG_INVALID', deviceFile);
  const at = (p: string) => resolve(dirname(deviceFile), p);
  if (!raw.server && !device.serverCaFile)
    throw new SlipwayError('SLW_CONFIG_INVALID', `${deviceFile} names no serverCaFile: the agent pins the server's CA`);
  return {
    ...raw,
    server: raw.server ?? { url: device.server, caFile: at(device.serverCaFile as string) },
    device: {
      deviceType: raw.device?.deviceType ?? device.deviceType,
      ...(raw.device?.identity ? {} : { identityFile: raw.device?.identityFile ?? at(device.identityFile) }),
      ...(raw.device?.identity ? { identity: raw.device.identity } : {}),
      keyFile: raw.device?.keyFile ?? at(device.keyFile),
      certificateFile: raw.device?.certificateFile ?? at(device.certificateFile),
    },
  };
}

export function resolveConfig(raw: RawConfig, file: string): AgentConfig {
  const base = dirname(resolve(file));
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const optionalPath = (p: string | undefined) => (p === undefined ? null : path(p));
  const device = raw.device ?? {};
  if (!device.deviceType)
    throw new SlipwayError('SLW_CONFIG_INVALID', `${file}: device.deviceType is required (or a deviceFile that has it)`);
  if (device.identity && device.identityFile)
    throw new SlipwayError('SLW_CONFIG_INVALID', `${file}: give device.identity or device.identityFile, not both`);
  if (raw.server && !device.identity && !device.identityFile)
    throw new SlipwayError('SLW_CONFIG_INVALID', `${file}: a server needs device.identity or device.identityFile`);
  if (raw.server && !device.keyFile) throw new SlipwayError('SLW_CONFIG_INVALID', `${file}: a server needs device.keyFile`);
  if (raw.server?.mtls && !device.certificateFile)
    throw new SlipwayError('SLW_CONFIG_INVALID', `${file}: server.mtls needs device.certificateFile`);
  if (raw.mqtt && !raw.server) throw new SlipwayError('SLW_CONFIG_INVALID', `${file}: mqtt wake-ups need a server`);
  const stateDir = path(raw.stateDir ?? '/var/lib/slipway-agent');
  const bootloader = raw.rootfs?.bootloader;
  return {
    file: resolve(file),
    // A certificate is presented whenever the server asks for one (TLS sends none unasked): on by default.
    server: raw.server
      ? { url: raw.server.url, caFile: path(raw.server.caFile), mtls: raw.server.mtls ?? device.certificateFile !== undefined }
      : null,
    device: {
      deviceType: device.deviceType,
      identity: device.identity ?? null,
      identityFile: optionalPath(device.identityFile),
      keyFile: optionalPath(device.keyFile),
      certificateFile: optionalPath(device.certificateFile),
    },
    trustRootFile: path(raw.trustRootFile),
    stateDir,
    polling: {
      intervalMs: (raw.polling?.intervalSeconds ?? 1800) * 1000,
      jitter: raw.polling?.jitter ?? 0.1,
      retryMaxMs: (raw.polling?.retryMaxSeconds ?? 3600) * 1000,
      inventoryIntervalMs: (raw.polling?.inventoryIntervalSeconds ?? 86400) * 1000,
    },
    download: {
      minBytesPerSecond: raw.download?.minBytesPerSecond ?? 1024,
      stallMs: (raw.download?.stallSeconds ?? 30) * 1000,
      timeoutMs: (raw.download?.timeoutSeconds ?? 0) * 1000,
      maxResumes: raw.download?.maxResumes ?? 10,
    },
    rootfs:
      raw.rootfs && bootloader
        ? {
            slotA: path(raw.rootfs.slotA),
            slotB: path(raw.rootfs.slotB),
            bootloader: {
              ...bootloader,
              ...(bootloader.envFile ? { envFile: path(bootloader.envFile) } : {}),
              ...(bootloader.configFile ? { configFile: path(bootloader.configFile) } : {}),
              ...(bootloader.defaultEnvFile ? { defaultEnvFile: path(bootloader.defaultEnvFile) } : {}),
            },
          }
        : null,
    directory: raw.directory
      ? {
          root: path(raw.directory.root),
          restartCommand: raw.directory.restartCommand ?? null,
          keepReleases: raw.directory.keepReleases ?? 2,
        }
      : null,
    modules: {
      dirs: (raw.modules?.dirs ?? ['/usr/lib/slipway/modules', '/usr/share/mender/modules/v3']).map(path),
      timeoutMs: (raw.modules?.timeoutSeconds ?? 3600) * 1000,
    },
    hooks: {
      sanityDir: optionalPath(raw.hooks?.sanityDir),
      stateScriptsDir: optionalPath(raw.hooks?.stateScriptsDir),
      timeoutMs: (raw.hooks?.timeoutSeconds ?? 120) * 1000,
    },
    inventory: { scriptsDir: optionalPath(raw.inventory?.scriptsDir) },
    mqtt: raw.mqtt
      ? {
          url: raw.mqtt.url,
          caFile: optionalPath(raw.mqtt.caFile),
          topicPrefix: raw.mqtt.topicPrefix ?? 'slipway',
          username: raw.mqtt.username ?? null,
          passwordFile: optionalPath(raw.mqtt.passwordFile),
        }
      : null,
    healthGate: {
      requireServer: raw.healthGate?.requireServer ?? raw.server !== undefined,
      serverTimeoutMs: (raw.healthGate?.serverTimeoutSeconds ?? 300) * 1000,
    },
    rebootCommand: raw.rebootCommand ?? ['systemctl', 'reboot'],
    bootIdFile: path(raw.bootIdFile ?? '/proc/sys/kernel/random/boot_id'),
    logs: { keyFile: path(raw.logs?.keyFile ?? `${stateDir}/log.key`) },
  };
}
