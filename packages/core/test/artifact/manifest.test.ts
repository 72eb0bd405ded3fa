import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Manifest, parseManifest } from '../../src/index.js';
import { slipwayError } from '../support/fixtures.js';

const HASH = 'ab'.repeat(32);
const valid: Manifest = {
  type: 'slipway-artifact',
  formatVersion: 1,
  name: 'gateway-os',
  version: '1.0.0',
  securityVersion: 3,
  deviceTypes: ['gw-100'],
  payloadType: 'module:single-file',
  payloads: [{ name: 'app.tar', compression: 'none', size: 10, uncompressedSize: 10, sha256: HASH }],
  createdAt: '2026-11-24T12:00:00Z',
  metadata: { note: 'fixture' },
};

function bytesOf(manifest: unknown): Buffer {
  return Buffer.from(JSON.stringify(manifest));
}

describe('manifest parsing', () => {
  test('accepts a well-formed manifest with metadata for an update module', () => {
    assert.deepEqual(parseManifest(bytesOf(valid)), valid);
  });

  test('accepts a metadata name of exactly 128 characters', () => {
    assert.doesNotThrow(() => parseManifest(bytesOf({ ...valid, metadata: { ['k'.repeat(128)]: 1 } })));
  });

  const refusals: readonly [string, unknown][] = [
    ['a metadata name longer than 128 characters', { ...valid, metadata: { ['k'.repeat(129)]: 1 } }],
    ['an empty metadata name', { ...valid, metadata: { '': 1 } }],
    ['a metadata name with a control character', { ...valid, metadata: { 'a\nb': 1 } }],
    ['an unknown top-level field', { ...valid, depends: {} }],
    ['a payload type outside rootfs, directory and module:NAME', { ...valid, payloadType: 'firmware' }],
    ['a device type listed twice', { ...valid, deviceTypes: ['gw-100', 'gw-100'] }],
    ['a negative security version', { ...valid, securityVersion: -1 }],
    ['a payload name with a slash', { ...valid, payloads: [{ ...valid.payloads[0], name: 'a/b' }] }],
    ['a creation time on a date that does not exist', { ...valid, createdAt: '2026-02-30T00:00:00Z' }],
    [
      'an uncompressed payload whose stored and content sizes differ',
      { ...valid, payloads: [{ ...valid.payloads[0], uncompressedSize: 11 }] },
    ],
  ];
  for (const [what, manifest] of refusals) {
    test(`refuses ${what}`, () => {
      assert.throws(() => parseManifest(bytesOf(manifest)), slipwayError('SLW_ARTIFACT_MANIFEST_INVALID'));
    });
  }

  test('refuses a payload listed twice as a duplicate entry', () => {
    const twice = { ...valid, payloads: [valid.payloads[0], valid.payloads[0]] };
    assert.throws(() => parseManifest(bytesOf(twice)), slipwayError('SLW_ARTIFACT_DUPLICATE_ENTRY'));
  });
});
