import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { IDENTITY_URI_PREFIX, type PublicKeyInfo } from '@slipway/core';

export interface CertificateCheck {
  readonly ok: boolean;
  /** Why not, for the device's authentication history. */
  readonly reason?: string;
}

/**
 * Zero-touch admission: a certificate issued directly by one of the configured manufacturing CAs,
 * valid now, for exactly the key the device signs with, whose SAN URI
 * `urn:slipway:identity?serial=…&…` names exactly the identity the device claims.
 */
export function checkManufacturingCertificate(
  pem: string,
  cas: readonly X509Certificate[],
  key: PublicKeyInfo,
  identity: Readonly<Record<string, string>>,
  now: Date,
): CertificateCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return { ok: false, reason: 'the certificate is not a PEM X.509 certificate' };
  }
  const issuer = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (!issuer) return { ok: false, reason: 'the certificate was not issued by a manufacturing CA' };
  for (const c of [cert, issuer]) {
    if (now < new Date(c.validFrom) || now > new Date(c.validTo))
      return { ok: false, reason: 'the certificate or its CA is not valid now' };
  }
  if (!cert.publicKey.equals(key.key)) return { ok: false, reason: 'the certificate is for another key' };
  const claimed = identityInCertificate(pem);
  if (claimed === undefined) return { ok: false, reason: 'the certificate names no identity' };
  const want = Object.entries(identity).sort();
  const got = Object.entries(claimed).sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) return { ok: false, reason: 'the certificate names another identity' };
  return { ok: true };
}

/** The identity in a certificate's SAN URI, or undefined when it has none (or more than one). */
export function identityInCertificate(pem: string): Record<string, string> | undefined {
  const san = new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? []).filter((n) => n.type === 'url' && n.value.startsWith(IDENTITY_URI_PREFIX));
  if (uris.length !== 1) return undefined;
  const params = new URLSearchParams((uris[0] as x509.GeneralName).value.slice(IDENTITY_URI_PREFIX.length));
  const identity: Record<string, string> = {};
  for (const [name, value] of params) {
    if (Object.hasOwn(identity, name)) return undefined;
    identity[name] = value;
  }
  return identity;
}
