import { type Static, Type } from '@sinclair/typebox';

/**
 * The server's one configuration schema. Defaults live here; every object refuses unknown keys,
 * so a typo in a config file is an error, not a silently ignored setting.
 */
export const ServerConfigSchema = Type.Object(
  {
    /** HOST:PORT to listen on; IPv6 hosts in brackets, e.g. [::1]:8443. */
    listen: Type.String({ default: '0.0.0.0:8443', minLength: 3, maxLength: 300 }),
    /** Where SQLite, the local CA and first-start files live. */
    dataDir: Type.String({ default: './slipway-data', minLength: 1, maxLength: 4096 }),
    database: Type.Object(
      {
        /** postgres://… to use PostgreSQL; empty means SQLite in dataDir. */
        url: Type.String({ default: '', maxLength: 4096 }),
        /** How long SQLite waits on a locked database before failing a statement. */
        busyTimeoutMs: Type.Integer({ default: 5000, minimum: 0, maximum: 600_000 }),
        /** Connections in the PostgreSQL pool. */
        poolSize: Type.Integer({ default: 10, minimum: 1, maximum: 500 }),
      },
      { default: {}, additionalProperties: false },
    ),
    tls: Type.Object(
      {
        /** A certificate (PEM, chain allowed) and its key; without them a local CA issues one. */
        certFile: Type.String({ default: '', maxLength: 4096 }),
        keyFile: Type.String({ default: '', maxLength: 4096 }),
        /** Extra DNS names or IP addresses for the locally issued server certificate. */
        extraNames: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [], maxItems: 100 }),
        /**
         * Plain HTTP for a TLS-terminating reverse proxy in front. Never the default: devices and
         * users must only ever reach Slipway over TLS.
         */
        behindProxy: Type.Boolean({ default: false }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    /** How long a SIGTERM waits for requests in flight before closing anyway. */
    shutdownGraceSeconds: Type.Integer({ default: 10, minimum: 0, maximum: 600 }),
  },
  { additionalProperties: false },
);

export type ServerConfig = Static<typeof ServerConfigSchema>;
