import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { encodeRecord, RecordIoDecoder } from './recordio.js';

describe('RecordIO', () => {
  it('frames a record by its length in bytes, so multi-byte characters count as their UTF-8 size', () => {
    assert.equal(encodeRecord('{"type":"HEARTBEAT"}').toString(), '20\n{"type":"HEARTBEAT"}');
    const text = '{"message":"größe ✓ 🚀"}';
    const framed = encodeRecord(text);
    assert.equal(framed.subarray(0, framed.indexOf(0x0a)).toString(), String(Buffer.byteLength(text)));
    assert.notEqual(Buffer.byteLength(text), text.length);
    assert.deepEqual(
      new RecordIoDecoder().push(framed).map((r) => r.toString('utf8')),
      [text],
    );
    assert.equal(encodeRecord(new Uint8Array([0, 10, 255])).toString('hex'), '330a000aff', 'binary records (protobuf) as they are, newlines inside included');
    assert.equal(encodeRecord('').toString(), '0\n');
  });

  it('reads records split across chunks at any byte, and several in one chunk', () => {
    const records = ['{"a":1}', '', 'ü'.repeat(40), '{"type":"SUBSCRIBED"}'];
    const stream = Buffer.concat(records.map((r) => encodeRecord(r)));
    for (const size of [1, 2, 3, 7, stream.length]) {
      const decoder = new RecordIoDecoder();
      const out: string[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...decoder.push(stream.subarray(i, i + size)).map((r) => r.toString('utf8')));
      assert.deepEqual(out, records, `chunks of ${size}`);
      assert.equal(decoder.pending, 0);
    }
    const cut = new RecordIoDecoder();
    assert.deepEqual(cut.push(Buffer.from('10\n{"a"')), []);
    assert.equal(cut.pending, 7, 'an unfinished record (its length line too) stays pending');
  });

  it('refuses a length that is not decimal digits or is over the limit, and stays failed', () => {
    const invalid = (e: unknown) => isIppcError(e) && e.code === 'RECORDIO_INVALID';
    const d = new RecordIoDecoder();
    assert.throws(
      () => d.push(Buffer.from('x1\n{}')),
      (e) => invalid(e) && /'x1' is not a record length/.test((e as Error).message),
    );
    assert.throws(
      () => d.push(Buffer.from('2\n{}')),
      (e) => invalid(e) && /already failed/.test((e as Error).message),
    );
    assert.throws(
      () => new RecordIoDecoder(100).push(Buffer.from('101\n')),
      (e) => invalid(e) && /101 bytes is larger than the limit of 100/.test((e as Error).message),
    );
    assert.throws(() => new RecordIoDecoder().push(Buffer.from('1'.repeat(21))), invalid, 'no newline within 20 digits');
    assert.throws(() => new RecordIoDecoder().push(Buffer.from('-1\n')), invalid);
  });
});
