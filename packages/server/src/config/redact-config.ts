import type { ServerConfig } from './server-config.js';

/** The effective configuration for humans and logs: credentials in the database and MQTT URLs are masked. */
export function redactConfig(config: Readonly<ServerConfig>): ServerConfig {
  const copy = structuredClone(config) as ServerConfig;
  if (copy.database.url !== '') copy.database.url = redactUrl(copy.database.url);
  if (copy.mqtt.url !== '') copy.mqtt.url = redactUrl(copy.mqtt.url);
  return copy;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = 'REDACTED';
    for (const key of [...parsed.searchParams.keys()]) if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, 'REDACTED');
    return parsed.toString();
  } catch {
    return 'REDACTED';
  }
}
