import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField } from '../src/cli/csv.js';

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

test('CSV parsing follows RFC 4180: quoted commas, quotes and line breaks; CRLF or LF', async () => {
  const { parseCsv } = await import('../src/cli/csv.js');
  assert.deepEqual(parseCsv('a,b\r\n1,"x,y"\n2,"say ""hi"""\n3,"two\nlines"\n', 'SLW_DEVICE_MANIFEST_INVALID'), [
    ['a', 'b'],
    ['1', 'x,y'],
    ['2', 'say "hi"'],
    ['3', 'two\nlines'],
  ]);
  assert.deepEqual(parseCsv('a,b', 'SLW_DEVICE_MANIFEST_INVALID'), [['a', 'b']]);
  assert.throws(() => parseCsv('a,"open\n', 'SLW_DEVICE_MANIFEST_INVALID'), /never ends/);
  assert.throws(() => parseCsv('a,b"c\n', 'SLW_DEVICE_MANIFEST_INVALID'), /quote inside an unquoted field/);
  assert.throws(() => parseCsv('"a"b\n', 'SLW_DEVICE_MANIFEST_INVALID'), /text after a closing quote/);
});
