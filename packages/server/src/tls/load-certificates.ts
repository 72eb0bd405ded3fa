import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SlipwayError } from '@slipway/core';

/** Every certificate in each PEM file (a file may hold a bundle); a missing or bad file is a config error. */
export async function loadCertificates(files: readonly string[], what: string): Promise<X509Certificate[]> {
  const certificates: X509Certificate[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new SlipwayError('SLW_CONFIG_INVALID', `${what} ${file} cannot be read`, { cause: err });
    }
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new SlipwayError('SLW_CONFIG_INVALID', `${what} ${file} holds no PEM certificate`);
    for (const block of blocks) {
      try {
        certificates.push(new X509Certificate(block));
      } catch (err) {
        throw new SlipwayError('SLW_CONFIG_INVALID', `${what} ${file} holds a malformed certificate`, { cause: err });
      }
    }
  }
  return certificates;
}

/** The PEM text of each certificate revocation list file, checked to hold at least one CRL. */
export async function loadCrls(files: readonly string[]): Promise<string[]> {
  const crls: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new SlipwayError('SLW_CONFIG_INVALID', `device CRL ${file} cannot be read`, { cause: err });
    }
    if (!text.includes('-----BEGIN X509 CRL-----')) throw new SlipwayError('SLW_CONFIG_INVALID', `device CRL ${file} holds no PEM CRL`);
    crls.push(text);
  }
  return crls;
}
