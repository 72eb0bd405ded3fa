import { X509Certificate as NodeCertificate, webcrypto } from 'node:crypto';
import { type DeviceIdentity, identityUri, type PrivateKeyInfo, type PublicKeyInfo, SlipwayError } from '@slipway/core';

/** What it takes to issue device certificates: the manufacturing CA's certificate and key. */
export interface DeviceCertificateIssuer {
  issue(device: { identity: DeviceIdentity; publicKey: PublicKeyInfo; serialNumber: string }): Promise<string>;
}

const DAY_MS = 86_400_000;

function algorithmsFor(key: PrivateKeyInfo) {
  switch (key.scheme) {
    case 'ecdsa-p256-sha256':
      return { importAs: { name: 'ECDSA', namedCurve: 'P-256' }, signWith: { name: 'ECDSA', hash: 'SHA-256' } };
    case 'ed25519':
      return { importAs: { name: 'Ed25519' }, signWith: { name: 'Ed25519' } };
    case 'rsa-pss-sha256':
      // X.509 issuers overwhelmingly sign with PKCS#1 v1.5; every TLS stack verifies it.
      return { importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signWith: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
  }
}

function publicImportAlgorithm(key: PublicKeyInfo) {
  switch (key.scheme) {
    case 'ecdsa-p256-sha256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ed25519':
      return { name: 'Ed25519' };
    case 'rsa-pss-sha256':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  }
}

/**
 * Issues device certificates from a manufacturing CA: subject CN = the first identity attribute,
 * the whole identity as the SAN URI `urn:slipway:identity?…` (what the server matches at
 * zero-touch admission), client-authentication usage for mutual TLS. @peculiar/x509 is loaded
 * only here, so no other command pays for it.
 */
export async function deviceCertificateIssuer(
  caPem: string,
  caKey: PrivateKeyInfo,
  validDays: number,
  now: Date,
): Promise<DeviceCertificateIssuer> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as never);
  let ca: InstanceType<typeof x509.X509Certificate>;
  try {
    ca = new x509.X509Certificate(caPem);
    if (!new NodeCertificate(caPem).checkPrivateKey(caKey.key)) throw new Error('the key does not belong to the certificate');
  } catch (err) {
    throw new SlipwayError('SLW_KEY_INVALID', `the manufacturing CA certificate and key do not match: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const { importAs, signWith } = algorithmsFor(caKey);
  const der = caKey.key.export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, importAs, false, ['sign']);
  const caKeyIdentifier = await x509.SubjectKeyIdentifierExtension.create(ca.publicKey);
  return {
    async issue({ identity, publicKey, serialNumber }) {
      const spki = publicKey.key.export({ type: 'spki', format: 'der' });
      const devicePublicKey = await webcrypto.subtle.importKey('spki', spki, publicImportAlgorithm(publicKey), true, ['verify']);
      const commonName = Object.values(identity)[0] ?? 'device';
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber,
        subject: [{ CN: [commonName] }],
        issuer: ca.subject,
        notBefore: new Date(now.getTime() - 3_600_000),
        notAfter: new Date(now.getTime() + validDays * DAY_MS),
        publicKey: devicePublicKey,
        signingKey,
        signingAlgorithm: signWith,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identityUri(identity) }]),
          await x509.SubjectKeyIdentifierExtension.create(devicePublicKey),
          new x509.AuthorityKeyIdentifierExtension(caKeyIdentifier.keyId),
        ],
      });
      return `${cert.toString('pem')}\n`;
    },
  };
}
