import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

export interface SelfSignedOptions {
  readonly keyOut: string;
  readonly certOut: string;
  /** `/CN=…` */
  readonly subject: string;
  /** `DNS:localhost`, `IP:127.0.0.1` …: a server certificate; absent: a CA for issuing others. */
  readonly subjectAltName?: string;
  readonly days?: number;
}

/**
 * A P-256 key and a self-signed certificate made by the openssl command, as an operator would
 * make a manufacturing CA or a test server's certificate: tests use the real tool, not our code.
 * The key is 0600, as the commands that read it demand.
 */
export function opensslSelfSigned(options: SelfSignedOptions): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      String(options.days ?? 3650),
      '-subj',
      options.subject,
      ...(options.subjectAltName ? ['-addext', `subjectAltName=${options.subjectAltName}`] : []),
      '-keyout',
      options.keyOut,
      '-out',
      options.certOut,
    ],
    { stdio: 'ignore' },
  );
  chmodSync(options.keyOut, 0o600);
}
