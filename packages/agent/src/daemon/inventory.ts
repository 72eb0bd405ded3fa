import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { arch, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** The server's rules for inventory names; anything else from a script is dropped, not sent. */
const NAME = /^[a-z][a-z0-9_.-]{0,63}$/;
const MAX_VALUE = 1024;
const MAX_ATTRIBUTES = 128;
const SCRIPT_TIMEOUT_MS = 30_000;

export interface InventoryFacts {
  readonly deviceType: string;
  readonly installed: { readonly name: string; readonly version: string; readonly securityVersion: number } | null;
  readonly trustRootVersion: number;
  readonly agentVersion: string;
  readonly activeSlot?: string;
}

/**
 * What the device tells the server about itself: built-in facts (the names the fleet reports read,
 * `artifact_name` and `artifact_version`, among them) and whatever the integrator's inventory
 * scripts print as `name=value` lines. Built-in names win: a script cannot claim another version.
 */
export async function collectInventory(
  facts: InventoryFacts,
  scriptsDir: string | null,
  log?: (line: string) => void,
): Promise<Record<string, string>> {
  const fromScripts = scriptsDir ? await runInventoryScripts(scriptsDir, log) : {};
  const builtIn: Record<string, string> = {
    device_type: facts.deviceType,
    artifact_name: facts.installed?.name ?? 'unknown',
    artifact_version: facts.installed?.version ?? 'unknown',
    security_version: String(facts.installed?.securityVersion ?? 0),
    trust_root_version: String(facts.trustRootVersion),
    agent_version: facts.agentVersion,
    kernel: release(),
    hostname: hostname(),
    cpu_arch: arch(),
    mem_total_kib: String(Math.floor(totalmem() / 1024)),
    os: await osName(),
    ...(facts.activeSlot ? { rootfs_slot: facts.activeSlot } : {}),
  };
  // Built-ins first, so the cap on attributes only ever drops a script's extras.
  const extras = Object.entries(fromScripts).filter(([name]) => !Object.hasOwn(builtIn, name));
  return Object.fromEntries([...Object.entries(builtIn), ...extras].slice(0, MAX_ATTRIBUTES));
}

async function osName(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    return (match?.[1] ?? 'unknown').slice(0, MAX_VALUE);
  } catch {
    return 'unknown';
  }
}

async function runInventoryScripts(dir: string, log?: (line: string) => void): Promise<Record<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return {};
  }
  const attributes: Record<string, string> = {};
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile() || (info.mode & 0o111) === 0) continue;
    const output = await new Promise<string | null>((resolve) => {
      execFile(path, [], { timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 }, (err, stdout) => {
        if (err) {
          log?.(`inventory script ${name} failed: ${err.message.split('\n')[0]}`);
          resolve(null);
        } else resolve(stdout);
      });
    });
    for (const line of (output ?? '').split('\n')) {
      const at = line.indexOf('=');
      if (at <= 0) continue;
      const key = line.slice(0, at).trim();
      const value = line.slice(at + 1).trim();
      // Mender scripts print a name once per value; a list becomes comma-separated.
      if (NAME.test(key)) attributes[key] = (attributes[key] ? `${attributes[key]},${value}` : value).slice(0, MAX_VALUE);
    }
  }
  return attributes;
}
