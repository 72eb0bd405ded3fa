import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField } from '../src/commands/server-admin.js';

test('CSV fields are quoted per RFC 4180 and never start a spreadsheet formula', () => {
  assert.equal(csvField(null), '');
  assert.equal(csvField(42), '42');
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('{"role":"ci","i":1}'), '"{""role"":""ci"",""i"":1}"');
  assert.equal(csvField('line\nbreak'), '"line\nbreak"');
  assert.equal(csvField('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
  assert.equal(csvField('-1+2'), "'-1+2");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
});
