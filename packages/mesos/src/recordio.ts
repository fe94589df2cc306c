import { MesosError } from './errors.js';

// RecordIO, the framing of Mesos's streaming HTTP APIs (src/common/recordio.hpp, docs "RecordIO"):
// each record is its length in bytes as decimal text, a newline, then that many bytes. The
// scheduler and executor event streams and the operator API's SUBSCRIBE use it, with JSON or
// protobuf records. Lengths count bytes, not characters, so a record with multi-byte characters
// is framed by its UTF-8 size.

/** Largest record a decoder accepts unless told otherwise (a broken or hostile peer must not make it buffer without end). */
export const RECORDIO_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** One record, framed: `<bytes>\n<data>`. Strings are written as UTF-8. */
export function encodeRecord(data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'ascii'), body]);
}

/**
 * Reads records out of a byte stream that arrives in chunks of any size (a record may span
 * chunks, a chunk may hold several). Throws RECORDIO_INVALID on a length that is not decimal
 * digits or is larger than `maxRecordBytes`; the decoder is unusable after that.
 */
export class RecordIoDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly maxRecordBytes = RECORDIO_MAX_RECORD_BYTES) {}

  /** The records completed by `chunk`, in order. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw new MesosError('RECORDIO_INVALID', 'the RecordIO stream already failed; start a new decoder on a new stream');
    this.buffered = this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    const records: Buffer[] = [];
    for (;;) {
      const newline = this.buffered.indexOf(0x0a);
      if (newline < 0) {
        // Decimal digits of a length no larger than the limit fit in 20 bytes.
        if (this.buffered.length > 20) this.fail(`a record length of more than 20 bytes without a newline`);
        return records;
      }
      const text = this.buffered.subarray(0, newline).toString('ascii');
      if (!/^\d{1,20}$/.test(text)) this.fail(`'${text.slice(0, 40)}' is not a record length (decimal digits, then a newline)`);
      const size = Number(text);
      if (size > this.maxRecordBytes) this.fail(`a record of ${size} bytes is larger than the limit of ${this.maxRecordBytes}`);
      if (this.buffered.length < newline + 1 + size) return records;
      records.push(this.buffered.subarray(newline + 1, newline + 1 + size));
      this.buffered = this.buffered.subarray(newline + 1 + size);
    }
  }

  /** Bytes of an unfinished record (0 at a record boundary): a stream that ends with some was cut short. */
  get pending(): number {
    return this.buffered.length;
  }

  private fail(reason: string): never {
    this.failed = true;
    throw new MesosError('RECORDIO_INVALID', `invalid RecordIO stream: ${reason}`);
  }
}
