/**
 * The one catalogue of Slipway's coded errors. Every code thrown anywhere must be listed here
 * (a test checks it, and that docs/errors.md documents each one).
 * `status` is the HTTP status a server maps the error to; `retryable` tells a client whether the
 * same request may succeed later (transient) or never will (fatal).
 */
export interface ErrorCodeInfo {
  readonly status: number;
  readonly retryable: boolean;
  readonly summary: string;
}

function code(status: number, retryable: boolean, summary: string): ErrorCodeInfo {
  return { status, retryable, summary };
}

export const ERROR_CODES = {
  SLW_INTERNAL_ERROR: code(500, false, 'An unexpected internal error; the message never echoes internals.'),

  SLW_USAGE_UNKNOWN_COMMAND: code(400, false, 'The command or subcommand does not exist.'),
  SLW_USAGE_INVALID_OPTION: code(400, false, 'An option is unknown, malformed or has an invalid value.'),
  SLW_USAGE_MISSING_OPTION: code(400, false, 'A required option or argument is missing.'),

  SLW_IO_NOT_FOUND: code(404, false, 'A file named on the command line does not exist.'),
  SLW_IO_EXISTS: code(409, false, 'The output file already exists and would be overwritten.'),
  SLW_IO_FAILED: code(500, true, 'Reading or writing a file failed (disk full, permissions, I/O error).'),
  SLW_IO_NOT_A_FILE: code(400, false, 'A path that must name a regular file names something else.'),

  SLW_KEY_TYPE_UNSUPPORTED: code(400, false, 'The key type is not one of ed25519, ecdsa-p256, rsa-3072/4096.'),
  SLW_KEY_TOO_WEAK: code(
    400,
    false,
    'The key is refused by policy (EC curve other than P-256, RSA outside 3072-4096 bits or exponent not 65537).',
  ),
  SLW_KEY_INVALID: code(400, false, 'The key file is not a parseable PEM key of the expected kind.'),
  SLW_KEY_PERMISSIONS: code(400, false, 'A private key file is readable by group or others; chmod 600 it.'),
  SLW_KEY_ID_MISMATCH: code(400, false, "A key's listed ID is not the SHA-256 of its SubjectPublicKeyInfo."),

  SLW_TRUST_ROOT_MALFORMED: code(400, false, 'root.json is not a well-formed Slipway trust root.'),
  SLW_TRUST_ROOT_TOO_LARGE: code(400, false, 'root.json exceeds the size limit.'),
  SLW_TRUST_ROOT_EXPIRED: code(400, false, 'The trust root has expired (freeze attack defence).'),
  SLW_TRUST_ROOT_THRESHOLD: code(400, false, 'Too few valid signatures by the root keys of this root.'),
  SLW_TRUST_ROOT_OLD_THRESHOLD: code(400, false, 'A new root lacks a threshold of signatures by the previous root keys.'),
  SLW_TRUST_ROOT_VERSION: code(400, false, 'A new root is not exactly version N+1 of the trusted root.'),
  SLW_TRUST_THRESHOLD_INVALID: code(400, false, 'A threshold is above the number of keys of its role, so it could never be met.'),
  SLW_TRUST_KEY_ROLE_OVERLAP: code(400, false, 'A key is both a root key and a release key; keep them apart.'),
  SLW_TRUST_KEY_NOT_IN_ROOT: code(400, false, 'The key id names no release key of this root (or more than one: give more of it).'),
  SLW_TRUST_EXPIRY_INVALID: code(400, false, 'The root expiry given to trust init is not in the future.'),

  SLW_ARTIFACT_MALFORMED: code(422, false, 'The artifact container is not a well-formed Slipway tar stream.'),
  SLW_ARTIFACT_TRUNCATED: code(422, true, 'The artifact ends before its signed content does.'),
  SLW_ARTIFACT_TRAILING_DATA: code(422, false, 'Bytes follow the end of the artifact.'),
  SLW_ARTIFACT_UNEXPECTED_ENTRY: code(422, false, 'An entry that the format does not allow at this place.'),
  SLW_ARTIFACT_DUPLICATE_ENTRY: code(422, false, 'An entry name appears twice.'),
  SLW_ARTIFACT_ENTRY_ORDER: code(422, false, 'Entries are out of order (manifest, signatures, payloads in manifest order).'),
  SLW_ARTIFACT_UNSAFE_NAME: code(422, false, 'An entry or payload name could escape its directory or is not allowed.'),
  SLW_ARTIFACT_NAME_TOO_LONG: code(422, false, 'An entry name exceeds the length limit.'),
  SLW_ARTIFACT_TOO_MANY_ENTRIES: code(422, false, 'More payloads than the limit allows.'),
  SLW_ARTIFACT_MANIFEST_TOO_LARGE: code(422, false, 'The manifest exceeds the size limit.'),
  SLW_ARTIFACT_MANIFEST_INVALID: code(422, false, 'The manifest is not valid JSON of the manifest schema.'),
  SLW_ARTIFACT_SIGNATURES_MALFORMED: code(422, false, 'The signature block is not valid.'),
  SLW_ARTIFACT_TOO_MANY_SIGNATURES: code(422, false, 'More signatures than the limit allows.'),
  SLW_ARTIFACT_SIGNATURE_INVALID: code(422, false, 'Too few valid signatures by release keys of the trust root.'),
  SLW_ARTIFACT_SIGNATURE_SPACE: code(422, false, 'The signature block has no room for another signature.'),
  SLW_ARTIFACT_SIZE_MISMATCH: code(422, false, 'A payload entry is not exactly the signed stored size (endless data defence).'),
  SLW_ARTIFACT_PAYLOAD_TOO_LONG: code(422, false, 'A payload decompresses past its signed size (endless data defence).'),
  SLW_ARTIFACT_HASH_MISMATCH: code(422, false, 'A payload does not match its signed SHA-256.'),
  SLW_ARTIFACT_PAYLOAD_CORRUPT: code(422, false, 'A compressed payload cannot be decompressed.'),
  SLW_ARTIFACT_COMPRESSION_UNSUPPORTED: code(422, false, 'The codec a payload needs is not installed here (zstd-napi for zstd).'),
  SLW_ARTIFACT_EXPIRED: code(422, false, 'The artifact is past its signed expiry.'),
  SLW_ARTIFACT_DEVICE_TYPE: code(422, false, "The device's type is not among the artifact's compatible device types."),
  SLW_ARTIFACT_ROLLBACK: code(422, false, 'The security version is lower than the installed one (rollback attack defence).'),
  SLW_ARTIFACT_MISMATCH: code(422, false, 'The artifact is not the one the deployment offered (name, version or security version differ).'),
  SLW_ARTIFACT_PAYLOAD_CHANGED: code(409, false, 'A payload file changed while the artifact was being created.'),

  SLW_CONFIG_INVALID: code(400, false, 'A server setting (file, SLIPWAY_* variable or flag) has an invalid value.'),
  SLW_CONFIG_UNKNOWN_KEY: code(400, false, 'The server configuration names a key the schema does not know (a typo?).'),
  SLW_TLS_FILES: code(500, false, 'TLS certificate or key files are missing, unreadable or unusable.'),
  SLW_DB_UNAVAILABLE: code(503, true, 'The database cannot be reached or opened.'),
  SLW_DB_IN_USE: code(409, false, 'Another Slipway server already runs on this SQLite data directory.'),
  SLW_DB_NEWER_THAN_CODE: code(500, false, 'The database was migrated by a newer Slipway; refusing to start with older code.'),
  SLW_DB_MIGRATION_FAILED: code(500, false, 'A database migration failed; the database is left at the last complete migration.'),

  SLW_HTTP_NOT_FOUND: code(404, false, 'No route has this method and path.'),
  SLW_AUTH_REQUIRED: code(401, false, 'The request carries no valid session or API token (missing, expired, revoked or disabled).'),
  SLW_AUTH_INVALID_CREDENTIALS: code(401, false, 'Wrong user name or password; the message never says which.'),
  SLW_AUTH_FORBIDDEN: code(403, false, "The caller's role does not allow this request."),
  SLW_AUTH_CSRF: code(403, false, 'A change made with the session cookie lacks the matching x-slipway-csrf header.'),
  SLW_AUTH_THROTTLED: code(429, true, 'Too many failed logins for this user or address; wait and retry.'),
  SLW_USER_EXISTS: code(409, false, 'A user with this name exists already.'),
  SLW_USER_NOT_FOUND: code(404, false, 'No user has this name.'),
  SLW_TOKEN_NOT_FOUND: code(404, false, 'No active API token has this id.'),
  SLW_ROLE_UNKNOWN: code(400, false, 'The role is not one of admin, release-manager, operator, ci, viewer.'),

  SLW_DEVICE_IDENTITY_INVALID: code(
    400,
    false,
    'The identity attributes are malformed, missing one the fleet uses, or carry one it does not.',
  ),
  SLW_DEVICE_AUTH_INVALID: code(
    401,
    false,
    'The device authentication request does not verify (bad signature, unknown key for a known identity, malformed).',
  ),
  SLW_DEVICE_AUTH_STALE: code(401, true, 'The device request timestamp is too far from the server clock.'),
  SLW_DEVICE_AUTH_REPLAY: code(401, false, 'The device request nonce was used before: a replayed request.'),
  SLW_DEVICE_KEY_REFUSED: code(400, false, "The device key is not allowed by the server's device key policy."),
  SLW_DEVICE_PENDING: code(401, true, 'The device is known but waits for admission; retry after the hinted delay.'),
  SLW_DEVICE_REJECTED: code(401, false, 'The device was rejected by an operator and may not authenticate.'),
  SLW_DEVICE_RATE_LIMITED: code(429, true, 'Too many failed device requests from this address or for this identity; wait and retry.'),
  SLW_DEVICE_TOKEN_INVALID: code(
    401,
    true,
    'The device token is missing, expired, or its device is no longer accepted; authenticate again.',
  ),
  SLW_DEVICE_NOT_FOUND: code(404, false, 'No device has this id.'),
  SLW_DEVICE_STATE: code(409, false, "The admission transition is not allowed from the device's current status."),
  SLW_DEVICE_NOT_ACCEPTED: code(409, false, 'A device waited for (devices accept --wait) was rejected or decommissioned meanwhile.'),
  SLW_DEVICE_KEY_IN_USE: code(409, false, 'The public key already belongs to another device identity.'),
  SLW_DEVICE_ADMISSION_FULL: code(
    503,
    true,
    'Too many devices wait for admission; new unknown devices are refused until some are decided.',
  ),
  SLW_DEVICE_INVENTORY_INVALID: code(400, false, 'The inventory report is malformed or too large.'),
  SLW_DEVICE_MANIFEST_INVALID: code(400, false, 'A preauthorization manifest is malformed; the message names the entry.'),

  SLW_DEVICE_CERTIFICATE_INVALID: code(
    401,
    false,
    'The device client certificate is missing, revoked, expired, untrusted, or for another key or token.',
  ),
  SLW_GROUP_EXISTS: code(409, false, 'A group with this name exists already.'),
  SLW_GROUP_NOT_FOUND: code(404, false, 'No group has this name.'),
  SLW_GROUP_DYNAMIC: code(409, false, 'The group is dynamic: its members follow its filter and cannot be added or removed by hand.'),

  SLW_TRUST_ROOT_NOT_FOUND: code(404, false, 'No trust root of this version is stored on the server.'),
  SLW_ARTIFACT_NO_TRUST_ROOT: code(409, false, "The server has no trust root yet, so it cannot check an artifact's signatures."),
  SLW_ARTIFACT_TOO_LARGE: code(413, false, 'The upload is larger than artifacts.maxBytes.'),
  SLW_ARTIFACT_DUPLICATE: code(409, false, 'An artifact with exactly these bytes is stored already.'),
  SLW_ARTIFACT_VERSION_EXISTS: code(409, false, 'An artifact with this name and version but other content is stored already.'),
  SLW_ARTIFACT_NOT_FOUND: code(404, false, 'No artifact has this id.'),
  SLW_WEBHOOK_INVALID: code(400, false, 'The webhook URL or event list is not acceptable.'),
  SLW_WEBHOOK_EXISTS: code(409, false, 'A webhook with this name exists already.'),
  SLW_WEBHOOK_NOT_FOUND: code(404, false, 'No webhook has this name.'),
  SLW_DOWNLOAD_DENIED: code(403, false, 'The download link is not valid, was issued to another device, or has expired.'),
  SLW_ARTIFACT_IN_USE: code(409, false, 'A deployment that is active, paused or halted uses this artifact.'),
  SLW_DEPLOYMENT_INVALID: code(400, false, 'A deployment option is malformed (phases, thresholds, attempts, maintenance window, target).'),
  SLW_DEPLOYMENT_NO_TARGETS: code(422, false, 'No accepted device of a compatible device type is in the target.'),
  SLW_DEPLOYMENT_NOT_FOUND: code(404, false, 'No deployment has this id (or the device is not one of its targets).'),
  SLW_DEPLOYMENT_STATE: code(409, false, 'The deployment is not in a state that allows this (e.g. resuming an active one).'),
  SLW_DEPLOYMENT_ABORTED: code(409, false, 'The deployment was aborted: the device must stop working on it.'),
  SLW_DEPLOYMENT_REPORT_INVALID: code(
    409,
    false,
    "A device's status report contradicts what it reported before (another attempt, a finished one).",
  ),
  SLW_DEPLOYMENT_WINDOW_CLOSED: code(409, true, 'Installing must wait for the maintenance window; downloading may go on.'),
  SLW_AGENT_BUSY: code(409, true, 'The agent is in the middle of an update; it must finish (or be resumed) first.'),
  SLW_AGENT_STATE_INVALID: code(500, false, "The agent's persisted update state is not a valid record (edited by hand?)."),
  SLW_AGENT_NO_UPDATE: code(409, false, 'No update is under way for this command to finish or undo.'),
  SLW_AGENT_REBOOT_PENDING: code(503, true, 'The agent asked for a reboot that has not happened yet; it asks again, then rolls back.'),
  SLW_INSTALLER_UNSUPPORTED: code(
    422,
    false,
    'The device has no installer for this payload type (rootfs, directory or an update module it lacks).',
  ),
  SLW_INSTALLER_UNSAFE_ENTRY: code(
    422,
    false,
    'A directory payload holds an entry that could escape its release directory or is not a plain file, directory or link.',
  ),
  SLW_INSTALLER_FAILED: code(
    500,
    false,
    'The installer could not store, switch, commit or undo the update (an update module or file error).',
  ),
  SLW_DOWNLOAD_FAILED: code(503, true, 'A download broke off or stalled more often than the agent resumes it, or ran out of time.'),
  SLW_DOWNLOAD_CHANGED: code(409, false, 'The file behind a download link changed while it was being downloaded (no splicing).'),
  SLW_DOWNLOAD_ABORTED: code(409, false, 'The agent stopped the download (the deployment was aborted or the agent is stopping).'),
  SLW_LOG_CORRUPT: code(
    500,
    false,
    'A deployment log on the device does not authenticate: altered, reordered, moved, or read with another key.',
  ),
  SLW_SERVER_UNREACHABLE: code(503, true, 'The Slipway server cannot be reached (address, port, network, or it is down).'),
  SLW_SERVER_TLS_UNTRUSTED: code(502, false, "The server's certificate is not trusted by the given CA, or does not name the server."),
  SLW_SERVER_RESPONSE: code(502, true, 'The server answered with something that is not a Slipway API response.'),
  SLW_SERVER_NOT_LOGGED_IN: code(401, false, 'No server or credentials: run slipway login, or set SLIPWAY_SERVER and SLIPWAY_TOKEN.'),
  SLW_AUDIT_CHAIN_BROKEN: code(500, false, 'The audit log chain does not verify: an entry was edited, deleted or reordered.'),

  SLW_UI_NETWORK: code(503, true, 'The web UI cannot reach the server (network down, or the server stopped).'),
  SLW_UI_RESPONSE: code(502, true, 'The web UI got an answer that is not a Slipway API response (a proxy error page, say).'),
  SLW_MQTT_CONNECT_FAILED: code(
    503,
    true,
    'The MQTT broker cannot be reached, its certificate is not trusted, or it refused the connection.',
  ),
  SLW_MQTT_NOT_CONNECTED: code(503, true, 'The MQTT connection is down (it reconnects by itself); the wake-up was not sent.'),
  SLW_MQTT_SUBSCRIBE_REFUSED: code(403, false, 'The MQTT broker refused a subscription: its access rules do not allow the topic.'),

  SLW_SIGN_REQUEST_INVALID: code(400, false, 'A sign request or signature file is malformed.'),
  SLW_SIGN_REQUEST_MISMATCH: code(400, false, "A sign request's summary does not describe the bytes it asks to sign."),
  SLW_SIGN_SIGNATURE_INVALID: code(400, false, 'A detached signature does not verify with its public key.'),
  SLW_SIGN_WRONG_TARGET: code(400, false, 'A detached signature was made for other bytes than this file.'),

  SLW_BOOT_ENV_FAILED: code(500, true, 'The bootloader environment tool (fw_printenv, fw_setenv, grub-editenv) is missing or failed.'),
  SLW_BOOT_ENV_INVALID: code(
    500,
    false,
    'The bootloader environment holds a value the agent cannot use (a slot other than a or b, a bad count).',
  ),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
