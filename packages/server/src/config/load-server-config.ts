import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { SlipwayError } from '@slipway/core';
import { type ServerConfig, ServerConfigSchema } from './server-config.js';

/** Values from the command line; each overrides the file and the environment. */
export interface ServerFlags {
  readonly configFile?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly listen?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly behindProxy?: boolean | undefined;
}

/** `SLIPWAY_*` variables and the config key each sets. Other SLIPWAY_* variables belong to other tools. */
const ENV_KEYS: Readonly<Record<string, readonly string[]>> = {
  SLIPWAY_LISTEN: ['listen'],
  SLIPWAY_DATA_DIR: ['dataDir'],
  SLIPWAY_DATABASE_URL: ['database', 'url'],
  SLIPWAY_TLS_CERT_FILE: ['tls', 'certFile'],
  SLIPWAY_TLS_KEY_FILE: ['tls', 'keyFile'],
  SLIPWAY_BEHIND_PROXY: ['tls', 'behindProxy'],
  SLIPWAY_LOG_LEVEL: ['log', 'level'],
  SLIPWAY_DEVICE_IDENTITY_ATTRIBUTES: ['devices', 'identityAttributes'],
  SLIPWAY_MANUFACTURING_CA_FILES: ['devices', 'manufacturingCaFiles'],
  SLIPWAY_DEVICE_MTLS: ['devices', 'mtls', 'mode'],
  SLIPWAY_DEVICE_CA_FILES: ['devices', 'mtls', 'caFiles'],
  SLIPWAY_DEVICE_CRL_FILES: ['devices', 'mtls', 'crlFiles'],
  SLIPWAY_MQTT_URL: ['mqtt', 'url'],
  SLIPWAY_MQTT_CA_FILE: ['mqtt', 'caFile'],
  SLIPWAY_WEB_DIR: ['web', 'dir'],
};

/** Variables that hold a list: comma-separated. */
const LIST_VARIABLES = new Set([
  'SLIPWAY_DEVICE_IDENTITY_ATTRIBUTES',
  'SLIPWAY_MANUFACTURING_CA_FILES',
  'SLIPWAY_DEVICE_CA_FILES',
  'SLIPWAY_DEVICE_CRL_FILES',
]);

type Layer = Record<string, unknown>;

function setPath(target: Layer, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Layer;
  }
  node[path[path.length - 1] as string] = value;
}

function isObject(value: unknown): value is Layer {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Later layers win key by key; arrays are replaced, not merged. */
function merge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [key, value] of Object.entries(over))
    out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Layer, value) : value;
  return out;
}

function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer: Layer = {};
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (name === 'SLIPWAY_BEHIND_PROXY') {
      if (raw !== 'true' && raw !== 'false') throw new SlipwayError('SLW_CONFIG_INVALID', `${name}=${raw}: use true or false`);
      setPath(layer, path, raw === 'true');
    } else if (LIST_VARIABLES.has(name)) {
      setPath(
        layer,
        path,
        raw.split(',').map((item) => item.trim()),
      );
    } else setPath(layer, path, raw);
  }
  return layer;
}

function flagLayer(flags: ServerFlags): Layer {
  const layer: Layer = {};
  if (flags.dataDir !== undefined) setPath(layer, ['dataDir'], flags.dataDir);
  if (flags.listen !== undefined) setPath(layer, ['listen'], flags.listen);
  if (flags.databaseUrl !== undefined) setPath(layer, ['database', 'url'], flags.databaseUrl);
  if (flags.behindProxy) setPath(layer, ['tls', 'behindProxy'], true);
  return layer;
}

async function fileLayer(path: string | undefined): Promise<Layer> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
    throw new SlipwayError('SLW_CONFIG_INVALID', `config file ${path}: ${why}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SlipwayError('SLW_CONFIG_INVALID', `config file ${path} is not valid JSON`);
  }
  if (!isObject(value)) throw new SlipwayError('SLW_CONFIG_INVALID', `config file ${path} must hold a JSON object`);
  return value;
}

/** Splits HOST:PORT (IPv6 in brackets) and checks both parts. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port < 0 || port > 65535) {
    throw new SlipwayError('SLW_CONFIG_INVALID', `listen ${JSON.stringify(listen)}: use HOST:PORT, e.g. 0.0.0.0:8443 or [::1]:8443`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/**
 * Builds the effective configuration: defaults < file < SLIPWAY_* environment < flags. It is
 * validated once, as a whole, and frozen; an unknown key anywhere is an error that names it.
 */
export async function loadServerConfig(
  flags: ServerFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Readonly<ServerConfig>> {
  const layered = merge(merge(await fileLayer(flags.configFile), envLayer(env)), flagLayer(flags));
  const config = Value.Default(ServerConfigSchema, structuredClone(layered));
  if (!Value.Check(ServerConfigSchema, config)) {
    const first = Value.Errors(ServerConfigSchema, config).First();
    const where = first?.path || '/';
    // TypeBox reports a property the schema does not allow as "Unexpected property".
    const unknown = first?.message === 'Unexpected property';
    throw new SlipwayError(
      unknown ? 'SLW_CONFIG_UNKNOWN_KEY' : 'SLW_CONFIG_INVALID',
      unknown ? `unknown config key at ${where}` : `config ${where}: ${first?.message ?? 'invalid'}`,
    );
  }
  parseListen(config.listen);
  const url = config.database.url;
  if (url !== '' && !/^postgres(ql)?:\/\//.test(url)) {
    throw new SlipwayError('SLW_CONFIG_INVALID', 'database url must start with postgres:// (leave it empty for SQLite)');
  }
  if (config.devices.mtls.mode !== 'off' && config.devices.mtls.caFiles.length === 0) {
    throw new SlipwayError('SLW_CONFIG_INVALID', 'devices.mtls.mode needs devices.mtls.caFiles: the CAs device certificates chain to');
  }
  if (config.devices.mtls.mode !== 'off' && config.tls.behindProxy) {
    throw new SlipwayError(
      'SLW_CONFIG_INVALID',
      'devices.mtls cannot work behind a TLS-terminating proxy: the proxy sees the client certificate, not Slipway',
    );
  }
  if ((config.tls.certFile === '') !== (config.tls.keyFile === '')) {
    throw new SlipwayError('SLW_CONFIG_INVALID', 'tls.certFile and tls.keyFile go together: give both or neither');
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (isObject(value) || Array.isArray(value)) for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
