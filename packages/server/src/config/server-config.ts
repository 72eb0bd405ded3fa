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
    devices: Type.Object(
      {
        /** The attributes a device identity consists of; a device must send exactly these. */
        identityAttributes: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}$' }), {
          default: ['serial'],
          minItems: 1,
          maxItems: 16,
          uniqueItems: true,
        }),
        /** Device key types allowed; the policy can only be narrowed from the built-in one. */
        keyTypes: Type.Array(Type.Union([Type.Literal('ecdsa-p256'), Type.Literal('ed25519'), Type.Literal('rsa')]), {
          default: ['ecdsa-p256', 'ed25519', 'rsa'],
          minItems: 1,
          uniqueItems: true,
        }),
        /** Smallest RSA modulus accepted; never below 3072. */
        rsaMinBits: Type.Integer({ default: 3072, minimum: 3072, maximum: 4096 }),
        /** Lifetime of a device token (JWT); a device re-authenticates when it expires. */
        tokenLifetimeSeconds: Type.Integer({ default: 3600, minimum: 60, maximum: 86_400 }),
        /** How far a device request's timestamp may be from the server clock. */
        maxClockSkewSeconds: Type.Integer({ default: 300, minimum: 30, maximum: 3600 }),
        /** The retry hint a pending device gets. */
        pendingRetrySeconds: Type.Integer({ default: 300, minimum: 5, maximum: 86_400 }),
        /** New unknown devices are refused while this many wait for admission. */
        maxPending: Type.Integer({ default: 10_000, minimum: 1, maximum: 10_000_000 }),
        /** Failed device requests allowed per source address before 429s, refilled per minute. */
        failuresPerAddress: Type.Integer({ default: 30, minimum: 1, maximum: 100_000 }),
        /** Failed device requests allowed per identity before 429s, refilled per minute. */
        failuresPerIdentity: Type.Integer({ default: 5, minimum: 1, maximum: 10_000 }),
        /** Days of authentication history kept per device. */
        authHistoryDays: Type.Integer({ default: 30, minimum: 1, maximum: 3650 }),
        /** PEM CA certificates; a device certificate issued by one of them is admitted at first contact. */
        manufacturingCaFiles: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { default: [], maxItems: 32 }),
        /** Mutual TLS for the device API. */
        mtls: Type.Object(
          {
            /** off; optional (a certificate, when presented, must verify); required (every device request needs one). */
            mode: Type.Union([Type.Literal('off'), Type.Literal('optional'), Type.Literal('required')], { default: 'off' }),
            /** PEM CA certificates that device client certificates must chain to. */
            caFiles: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { default: [], maxItems: 32 }),
            /** PEM certificate revocation lists; when given, every CA in caFiles needs a current one. */
            crlFiles: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { default: [], maxItems: 32 }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    artifacts: Type.Object(
      {
        /** The largest artifact accepted, in bytes (default 16 GiB). */
        maxBytes: Type.Integer({ default: 16 * 1024 ** 3, minimum: 1024, maximum: Number.MAX_SAFE_INTEGER }),
        /**
         * Development only: accept artifacts that no stored trust root vouches for. They are flagged
         * unsigned in every listing, the server warns at start-up, and devices still refuse them.
         */
        allowUnsigned: Type.Boolean({ default: false }),
      },
      { default: {}, additionalProperties: false },
    ),
    deployments: Type.Object(
      {
        /**
         * How often the rollout engine looks at every active deployment (it also looks at once
         * when a device finishes). Any number of server processes may run it on one database.
         */
        engineIntervalMs: Type.Integer({ default: 2000, minimum: 50, maximum: 600_000 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /**
     * Optional MQTT broker (Mosquitto, EMQX …) for wake-ups: when a phase starts, its devices are
     * told to ask now instead of at their next polling round. Off while url is empty.
     */
    mqtt: Type.Object(
      {
        /** mqtt://host:1883 or mqtts://host:8883 (MQTT over TLS); empty: no wake-ups. */
        url: Type.String({ default: '', maxLength: 2048 }),
        /** PEM CA bundle that must vouch for the broker (mqtts); the system's CAs when empty. */
        caFile: Type.String({ default: '', maxLength: 4096 }),
        /** Client certificate and key (PEM) for a broker that requires one. */
        certFile: Type.String({ default: '', maxLength: 4096 }),
        keyFile: Type.String({ default: '', maxLength: 4096 }),
        username: Type.String({ default: '', maxLength: 256 }),
        /** A file holding the broker password (never the password itself in the config). */
        passwordFile: Type.String({ default: '', maxLength: 4096 }),
        /** Topics are PREFIX/devices/DEVICE_ID/wake. */
        topicPrefix: Type.String({ default: 'slipway', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_./-]+$' }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** The web UI, served at /. */
    web: Type.Object(
      {
        /** The built UI (index.html and assets/); empty: the @slipway/web package's dist/ui directory. */
        dir: Type.String({ default: '', maxLength: 4096 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** How long a SIGTERM waits for requests in flight before closing anyway. */
    shutdownGraceSeconds: Type.Integer({ default: 10, minimum: 0, maximum: 600 }),
  },
  { additionalProperties: false },
);

export type ServerConfig = Static<typeof ServerConfigSchema>;
