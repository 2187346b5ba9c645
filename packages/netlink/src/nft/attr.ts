// nfnetlink attribute helpers shared by the nf_tables codec modules (pure). An attribute is
// {u16 len, u16 type, payload} padded to 4 bytes, header in host order (netlink.h); nf_tables integer
// payloads are big-endian (the kernel reads them with ntohl(nla_get_be32()), nf_tables_api.c).
import { NetlinkError } from '../errors.js';
import { align4, attr, attrStr } from '../wire.js';

export { attr, attrStr };

/** NLA_F_NESTED (netlink.h): libnftnl sets it on every nest, and so do we. */
export const NLA_F_NESTED = 0x8000;
/** The type bits of nla_type (NLA_F_NESTED and NLA_F_NET_BYTEORDER stripped). */
const NLA_TYPE_MASK = 0x3fff;

export function attrBe32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return attr(type, b);
}

export function attrBe64(type: number, v: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v), 0);
  return attr(type, b);
}

/** A nest with NLA_F_NESTED set, as libnftnl's mnl_attr_nest_start does. */
export function nest(type: number, ...children: Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children));
}

export function malformed(detail: string): NetlinkError {
  return new NetlinkError('NETLINK_ERR_PROTOCOL', `malformed nf_tables message: ${detail}`);
}

/** One attribute as parsed: type without the NESTED/BYTEORDER bits, payload without padding. */
export interface RawAttr {
  type: number;
  nested: boolean;
  value: Buffer;
}

/** Every attribute of `buf`, in order. Throws NETLINK_ERR_PROTOCOL on a length that overruns the buffer. */
export function parseAttrList(buf: Buffer, what = 'attributes'): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) throw malformed(`${what}: ${buf.length - off} trailing bytes`);
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2);
    if (len < 4 || off + len > buf.length) {
      throw malformed(
        `${what}: attribute ${type & NLA_TYPE_MASK} of length ${len} at offset ${off} overruns ${buf.length} bytes`,
      );
    }
    out.push({
      type: type & NLA_TYPE_MASK,
      nested: (type & NLA_F_NESTED) !== 0,
      value: buf.subarray(off + 4, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (the last of a type wins). */
export function attrMap(buf: Buffer, what?: string): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of parseAttrList(buf, what)) m.set(a.type, a.value);
  return m;
}

export function be32(b: Buffer | undefined, what: string): number {
  if (b === undefined || b.length !== 4) throw malformed(`${what}: expected a 4-byte big-endian value`);
  return b.readUInt32BE(0);
}

export function be64(b: Buffer | undefined, what: string): number {
  if (b === undefined || b.length !== 8) throw malformed(`${what}: expected an 8-byte big-endian value`);
  return Number(b.readBigUInt64BE(0));
}

export function optBe32(b: Buffer | undefined, what: string): number | undefined {
  return b === undefined ? undefined : be32(b, what);
}

export function optBe64(b: Buffer | undefined, what: string): number | undefined {
  return b === undefined ? undefined : be64(b, what);
}

/** A NUL-terminated string (NLA_STRING / NLA_NUL_STRING). */
export function str(b: Buffer | undefined): string | undefined {
  if (b === undefined) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

export function need(m: Map<number, Buffer>, type: number, what: string): Buffer {
  const b = m.get(type);
  if (b === undefined) throw malformed(`${what} missing`);
  return b;
}
