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

export interface IssueOptions {
  readonly caCert: string;
  readonly caKey: string;
  /** Where the new key goes; with `keyIn`, the existing key the certificate is for (left as it is). */
  readonly keyOut: string;
  readonly keyIn?: string;
  readonly certOut: string;
  readonly subject: string;
  readonly subjectAltName?: string;
  readonly days?: number;
}

/** A P-256 key and a certificate for it issued by a CA, with the openssl command (a CSR, then `x509 -req`). */
export function opensslIssue(options: IssueOptions): void {
  const csr = `${options.certOut}.csr`;
  execFileSync(
    'openssl',
    [
      'req',
      ...(options.keyIn
        ? ['-new', '-key', options.keyIn]
        : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', options.keyOut]),
      '-subj',
      options.subject,
      ...(options.subjectAltName ? ['-addext', `subjectAltName=${options.subjectAltName}`] : []),
      '-out',
      csr,
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      options.caCert,
      '-CAkey',
      options.caKey,
      '-days',
      String(options.days ?? 365),
      '-copy_extensions',
      'copy',
      '-out',
      options.certOut,
    ],
    { stdio: 'ignore' },
  );
  if (!options.keyIn) chmodSync(options.keyOut, 0o600);
}
