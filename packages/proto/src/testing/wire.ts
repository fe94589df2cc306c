// A tiny protobuf wire writer and a schema-less canonical form, for tests that compare our
// encoding with bytes written by hand from Mesos's field numbers. Not for production use.

export type Bytes = Uint8Array;

export function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n; // negative int32/int64 are ten-byte varints
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field: number, wireType: number) => varint((field << 3) | wireType);

export function concat(...parts: (Bytes | number[])[]): Bytes {
  const flat: number[] = [];
  for (const p of parts) flat.push(...p);
  return Uint8Array.from(flat);
}

/** Field writers: `f.varint(2, 1)` is field 2 with wire type 0, and so on. */
export const f = {
  varint: (field: number, value: number | bigint | boolean) => concat(key(field, 0), varint(typeof value === 'boolean' ? Number(value) : value)),
  string: (field: number, value: string) => {
    const b = Buffer.from(value, 'utf8');
    return concat(key(field, 2), varint(b.length), b);
  },
  bytes: (field: number, value: Bytes) => concat(key(field, 2), varint(value.length), value),
  message: (field: number, ...parts: Bytes[]) => {
    const body = concat(...parts);
    return concat(key(field, 2), varint(body.length), body);
  },
  double: (field: number, value: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return concat(key(field, 1), b);
  },
};

interface WireField {
  field: number;
  wireType: number;
  value: bigint | Bytes | WireField[];
}

function readVarint(b: Bytes, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= b.length) throw new Error('truncated varint');
    const byte = b[pos++] as number;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 70n) throw new Error('varint too long');
  }
}

function parse(b: Bytes): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [k, p1] = readVarint(b, pos);
    pos = p1;
    const field = Number(k >> 3n);
    const wireType = Number(k & 7n);
    if (field === 0) throw new Error('field 0');
    if (wireType === 0) {
      const [v, p2] = readVarint(b, pos);
      out.push({ field, wireType, value: v });
      pos = p2;
    } else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (pos + n > b.length) throw new Error('truncated fixed');
      out.push({ field, wireType, value: b.slice(pos, pos + n) });
      pos += n;
    } else if (wireType === 2) {
      const [len, p2] = readVarint(b, pos);
      const end = p2 + Number(len);
      if (end > b.length) throw new Error('truncated bytes');
      const raw = b.slice(p2, end);
      let nested: WireField[] | undefined;
      try {
        nested = raw.length > 0 ? parse(raw) : undefined;
      } catch {
        nested = undefined;
      }
      out.push({ field, wireType, value: nested ?? raw });
      pos = end;
    } else {
      throw new Error(`wire type ${wireType}`);
    }
  }
  return out;
}

function render(fields: WireField[]): string {
  // Stable sort by field number: reorders fields as protoc would (by number) but keeps the
  // relative order of a repeated field's elements, which is meaningful.
  return [...fields]
    .sort((a, b) => a.field - b.field)
    .map((x) => {
      const v = Array.isArray(x.value) ? `{${render(x.value)}}` : typeof x.value === 'bigint' ? x.value.toString() : Buffer.from(x.value).toString('hex');
      return `${x.field}:${x.wireType}=${v}`;
    })
    .join(' ');
}

/**
 * The canonical text of a protobuf encoding: fields sorted by number at every level (protoc writes
 * by number, ts-proto by declaration order; both are valid encodings of the same message).
 */
export function canonical(bytes: Bytes): string {
  return render(parse(bytes));
}

/** Drops empty `_unknownFields` recursively and returns the list of paths that had unknown fields. */
export function stripUnknown(value: unknown, path = '$', found: string[] = []): { value: unknown; unknown: string[] } {
  if (Array.isArray(value)) return { value: value.map((v, i) => stripUnknown(v, `${path}[${i}]`, found).value), unknown: found };
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '_unknownFields') {
        if (v && Object.keys(v).length > 0) found.push(`${path} fields ${Object.keys(v).join(',')}`);
        continue;
      }
      if (v === undefined) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      out[k] = stripUnknown(v, `${path}.${k}`, found).value;
    }
    return { value: out, unknown: found };
  }
  return { value, unknown: found };
}
