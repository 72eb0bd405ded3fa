import { createHash, type X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { SlipwayError } from '@slipway/core';
import type { FastifyRequest } from 'fastify';

export type MtlsMode = 'off' | 'optional' | 'required';

export interface ClientCertificate {
  readonly certificate: X509Certificate;
  /** base64url SHA-256 of the certificate DER: the `x5t#S256` a device token is bound to (RFC 8705). */
  readonly thumbprint: string;
}

/**
 * The client certificate of a device request under the mTLS mode, verified by the TLS layer
 * against the device CAs and CRLs. Required mode: no verified certificate, no request. Optional
 * mode: a certificate that is presented must verify. A revoked certificate fails in either.
 */
export function clientCertificate(request: FastifyRequest, mode: MtlsMode): ClientCertificate | undefined {
  if (mode === 'off') return undefined;
  const socket = request.raw.socket as Partial<TLSSocket>;
  const certificate = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
  if (!certificate) {
    if (mode === 'required') throw new SlipwayError('SLW_DEVICE_CERTIFICATE_INVALID', 'this server requires a device client certificate');
    return undefined;
  }
  if (socket.authorized !== true) {
    const why = String(socket.authorizationError ?? 'not verified');
    const reason = why === 'CERT_REVOKED' ? 'is revoked' : why === 'CERT_HAS_EXPIRED' ? 'has expired' : `is not trusted (${why})`;
    throw new SlipwayError('SLW_DEVICE_CERTIFICATE_INVALID', `the device client certificate ${reason}`);
  }
  return { certificate, thumbprint: createHash('sha256').update(certificate.raw).digest('base64url') };
}
