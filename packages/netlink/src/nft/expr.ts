// nf_tables expressions: typed values, their NFTA_EXPR encoding and decoding (pure). Each expression is
// NFTA_LIST_ELEM {NFTA_EXPR_NAME "payload", NFTA_EXPR_DATA {expression attributes}} (nf_tables.h
// enum nft_expr_attributes). Attribute numbers are from the enum of each expression in nf_tables.h; every
// integer attribute is a big-endian u32 (wire.ts). Attribute order inside each expression follows what
// `nft` 1.0.6 / libnftnl send, so our encodings are byte-identical to theirs.
import {
  attr,
  attrBe32,
  attrBe64,
  attrMap,
  attrStr,
  be32,
  malformed,
  need,
  nest,
  optBe32,
  parseAttrList,
  str,
} from './attr.js';

const bad = (detail: string) => malformed(`expression: ${detail}`);

// ---- registers and data --------------------------------------------------------------------------------

/**
 * enum nft_registers (nf_tables.h): 0 is the verdict register, 1..4 the 16-byte registers `nft` uses, 8..23
 * the 4-byte NFT_REG32_00..15 views of the same space. The kernel dumps a register in the form it can
 * (nft_dump_register: 16-byte aligned ones as 1..4).
 */
export type Reg = number;
export const NFT_REG = { VERDICT: 0, R1: 1, R2: 2, R3: 3, R4: 4, R32_00: 8 } as const;

/** enum nft_verdicts + NF_DROP/NF_ACCEPT (netfilter.h): the code in NFTA_VERDICT_CODE (s32 as be32). */
export const VERDICT_CODE = {
  drop: 0,
  accept: 1,
  queue: 3,
  continue: -1,
  break: -2,
  jump: -3,
  goto: -4,
  return: -5,
};
export type Verdict =
  | { kind: 'accept' | 'drop' | 'continue' | 'return' | 'break' | 'queue' }
  | { kind: 'jump' | 'goto'; chain: string };

const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const NFTA_VERDICT_CHAIN = 2;
/** NFT_DATA_VALUE_MAXLEN (nf_tables.h). */
export const NFT_DATA_VALUE_MAXLEN = 64;

/** NFTA_DATA_VALUE {raw bytes}: the content of a nest such as NFTA_CMP_DATA (nft_data_attributes). */
export function dataValue(v: Buffer): Buffer {
  return attr(NFTA_DATA_VALUE, v);
}

/** NFTA_DATA_VERDICT {NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN for jump/goto}. */
export function verdictData(v: Verdict): Buffer {
  const parts = [attrBe32(NFTA_VERDICT_CODE, VERDICT_CODE[v.kind])];
  if (v.kind === 'jump' || v.kind === 'goto') parts.push(attrStr(NFTA_VERDICT_CHAIN, v.chain));
  return nest(NFTA_DATA_VERDICT, ...parts);
}

export function decodeData(nestBuf: Buffer, what: string): { value: Buffer } | { verdict: Verdict } {
  const m = attrMap(nestBuf, what);
  const value = m.get(NFTA_DATA_VALUE);
  if (value !== undefined) return { value: Buffer.from(value) };
  const v = m.get(NFTA_DATA_VERDICT);
  if (v === undefined) throw bad(`${what}: neither a value nor a verdict`);
  const vm = attrMap(v, `${what} verdict`);
  const code = be32(vm.get(NFTA_VERDICT_CODE), `${what} verdict code`) | 0;
  const kind = (Object.keys(VERDICT_CODE) as (keyof typeof VERDICT_CODE)[]).find(
    (k) => VERDICT_CODE[k] === code,
  );
  if (kind === undefined) throw bad(`${what}: unknown verdict code ${code}`);
  if (kind === 'jump' || kind === 'goto') {
    const chain = str(vm.get(NFTA_VERDICT_CHAIN));
    if (chain === undefined) throw bad(`${what}: ${kind} without a chain`);
    return { verdict: { kind, chain } };
  }
  return { verdict: { kind } };
}

export function decodeDataValue(nestBuf: Buffer, what: string): Buffer {
  const d = decodeData(nestBuf, what);
  if (!('value' in d)) throw bad(`${what}: a verdict where a value was expected`);
  return d.value;
}

// ---- expression types ----------------------------------------------------------------------------------

/** enum nft_payload_bases. */
export const PAYLOAD_BASE = { ll: 0, network: 1, transport: 2, inner: 3 } as const;
export type PayloadBase = keyof typeof PAYLOAD_BASE;

/** enum nft_meta_keys (the ones worth naming; others round-trip as numbers). */
export const META_KEY = {
  len: 0,
  protocol: 1,
  priority: 2,
  mark: 3,
  iif: 4,
  oif: 5,
  iifname: 6,
  oifname: 7,
  iiftype: 8,
  oiftype: 9,
  skuid: 10,
  skgid: 11,
  nftrace: 12,
  rtclassid: 13,
  secmark: 14,
  nfproto: 15,
  l4proto: 16,
  bri_iifname: 17,
  bri_oifname: 18,
  pkttype: 19,
  cpu: 20,
  iifgroup: 21,
  oifgroup: 22,
  cgroup: 23,
  prandom: 24,
  iifkind: 26,
  oifkind: 27,
} as const;
export type MetaKey = keyof typeof META_KEY;

/** enum nft_ct_keys. */
export const CT_KEY = {
  state: 0,
  direction: 1,
  status: 2,
  mark: 3,
  secmark: 4,
  expiration: 5,
  helper: 6,
  l3protocol: 7,
  src: 8,
  dst: 9,
  protocol: 10,
  proto_src: 11,
  proto_dst: 12,
  labels: 13,
  pkts: 14,
  bytes: 15,
  avgpkt: 16,
  zone: 17,
  eventmask: 18,
  src_ip: 19,
  dst_ip: 20,
  src_ip6: 21,
  dst_ip6: 22,
  id: 23,
} as const;
export type CtKey = keyof typeof CT_KEY;
/** enum ip_conntrack_dir (nf_conntrack_tuple_common.h): the NFTA_CT_DIRECTION u8. */
export type CtDirection = 'original' | 'reply';

export const CMP_OP = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export type CmpOp = keyof typeof CMP_OP;

/** enum nft_nat_types. */
export type NatType = 'snat' | 'dnat';
/** NF_NAT_RANGE_* (include/uapi/linux/netfilter/nf_nat.h). */
export const NF_NAT_RANGE = {
  MAP_IPS: 0x1,
  PROTO_SPECIFIED: 0x2,
  PROTO_RANDOM: 0x4,
  PERSISTENT: 0x8,
  PROTO_RANDOM_FULLY: 0x10,
  PROTO_OFFSET: 0x20,
  NETMAP: 0x40,
} as const;

/** enum nft_fib_result and nft_fib_flags. */
export const FIB_RESULT = { oif: 1, oifname: 2, addrtype: 3 } as const;
export type FibResult = keyof typeof FIB_RESULT;
export const FIB_F = { saddr: 0x1, daddr: 0x2, mark: 0x4, iif: 0x8, oif: 0x10, present: 0x20 } as const;

export type Expr =
  | { type: 'payload'; base: PayloadBase; offset: number; len: number; dreg: Reg }
  | {
      type: 'payload';
      base: PayloadBase;
      offset: number;
      len: number;
      sreg: Reg;
      csumType?: number | undefined;
      csumOffset?: number | undefined;
      csumFlags?: number | undefined;
    }
  | { type: 'meta'; key: MetaKey | number; dreg: Reg }
  | { type: 'meta'; key: MetaKey | number; sreg: Reg }
  | { type: 'cmp'; op: CmpOp; sreg: Reg; data: Buffer }
  | { type: 'range'; op: 'eq' | 'neq'; sreg: Reg; from: Buffer; to: Buffer }
  | { type: 'immediate'; dreg: Reg; data: Buffer }
  | { type: 'immediate'; verdict: Verdict }
  | { type: 'bitwise'; sreg: Reg; dreg: Reg; len: number; mask: Buffer; xor: Buffer }
  | { type: 'bitwise'; sreg: Reg; dreg: Reg; len: number; op: 'lshift' | 'rshift'; shift: number }
  | {
      type: 'nat';
      nat: NatType;
      family: 'ip' | 'ip6';
      addrMin?: Reg | undefined;
      addrMax?: Reg | undefined;
      protoMin?: Reg | undefined;
      protoMax?: Reg | undefined;
      flags?: number | undefined;
    }
  | { type: 'masq'; flags?: number | undefined; protoMin?: Reg | undefined; protoMax?: Reg | undefined }
  | { type: 'redir'; flags?: number | undefined; protoMin?: Reg | undefined; protoMax?: Reg | undefined }
  | { type: 'ct'; key: CtKey | number; dreg: Reg; direction?: CtDirection | undefined }
  | { type: 'ct'; key: CtKey | number; sreg: Reg }
  | { type: 'counter'; packets?: bigint | undefined; bytes?: bigint | undefined }
  | {
      type: 'lookup';
      set: string;
      setId?: number | undefined;
      sreg: Reg;
      dreg?: Reg | undefined;
      invert?: boolean | undefined;
    }
  | { type: 'fib'; result: FibResult | number; flags: number; dreg: Reg }
  /** Any other expression (log, limit, reject, …): its name and NFTA_EXPR_DATA as they were. */
  | { type: 'unknown'; name: string; data: Buffer };

// Attribute numbers per expression (nf_tables.h).
const PAYLOAD = { DREG: 1, BASE: 2, OFFSET: 3, LEN: 4, SREG: 5, CSUM_TYPE: 6, CSUM_OFFSET: 7, CSUM_FLAGS: 8 };
const META = { DREG: 1, KEY: 2, SREG: 3 };
const CMP = { SREG: 1, OP: 2, DATA: 3 };
const RANGE = { SREG: 1, OP: 2, FROM: 3, TO: 4 };
const IMM = { DREG: 1, DATA: 2 };
const BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5, OP: 6, DATA: 7 };
const BITWISE_OP = { mask_xor: 0, lshift: 1, rshift: 2 };
const NAT = { TYPE: 1, FAMILY: 2, ADDR_MIN: 3, ADDR_MAX: 4, PROTO_MIN: 5, PROTO_MAX: 6, FLAGS: 7 };
const MASQ = { FLAGS: 1, PROTO_MIN: 2, PROTO_MAX: 3 };
const REDIR = { PROTO_MIN: 1, PROTO_MAX: 2, FLAGS: 3 };
const CT = { DREG: 1, KEY: 2, DIRECTION: 3, SREG: 4 };
const COUNTER = { BYTES: 1, PACKETS: 2 };
const LOOKUP = { SET: 1, SREG: 2, DREG: 3, SET_ID: 4, FLAGS: 5 };
const NFT_LOOKUP_F_INV = 1;
const FIB = { DREG: 1, RESULT: 2, FLAGS: 3 };
/** NFPROTO_IPV4 / NFPROTO_IPV6: NFTA_NAT_FAMILY. */
const NAT_FAMILY = { ip: 2, ip6: 10 } as const;

const keyNum = (table: Record<string, number>, k: string | number): number =>
  typeof k === 'number' ? k : (table[k] as number);
function keyName<K extends string>(table: Record<K, number>, v: number): K | number {
  return (Object.keys(table) as K[]).find((k) => table[k] === v) ?? v;
}

/** NFTA_EXPR_DATA's content for one expression; the name is the kernel's expression type name. */
function encodeOne(e: Expr): [string, Buffer[]] {
  switch (e.type) {
    case 'payload':
      if ('dreg' in e) {
        return [
          'payload',
          [
            attrBe32(PAYLOAD.DREG, e.dreg),
            attrBe32(PAYLOAD.BASE, PAYLOAD_BASE[e.base]),
            attrBe32(PAYLOAD.OFFSET, e.offset),
            attrBe32(PAYLOAD.LEN, e.len),
          ],
        ];
      }
      return [
        'payload',
        [
          attrBe32(PAYLOAD.SREG, e.sreg),
          attrBe32(PAYLOAD.BASE, PAYLOAD_BASE[e.base]),
          attrBe32(PAYLOAD.OFFSET, e.offset),
          attrBe32(PAYLOAD.LEN, e.len),
          ...(e.csumType === undefined ? [] : [attrBe32(PAYLOAD.CSUM_TYPE, e.csumType)]),
          ...(e.csumOffset === undefined ? [] : [attrBe32(PAYLOAD.CSUM_OFFSET, e.csumOffset)]),
          ...(e.csumFlags === undefined ? [] : [attrBe32(PAYLOAD.CSUM_FLAGS, e.csumFlags)]),
        ],
      ];
    case 'meta':
      // libnftnl order: key, then dreg (or sreg).
      return [
        'meta',
        [
          attrBe32(META.KEY, keyNum(META_KEY, e.key)),
          'dreg' in e ? attrBe32(META.DREG, e.dreg) : attrBe32(META.SREG, e.sreg),
        ],
      ];
    case 'cmp':
      return [
        'cmp',
        [attrBe32(CMP.SREG, e.sreg), attrBe32(CMP.OP, CMP_OP[e.op]), nest(CMP.DATA, dataValue(e.data))],
      ];
    case 'range':
      return [
        'range',
        [
          attrBe32(RANGE.SREG, e.sreg),
          attrBe32(RANGE.OP, e.op === 'eq' ? 0 : 1),
          nest(RANGE.FROM, dataValue(e.from)),
          nest(RANGE.TO, dataValue(e.to)),
        ],
      ];
    case 'immediate':
      if ('verdict' in e)
        return ['immediate', [attrBe32(IMM.DREG, 0), nest(IMM.DATA, verdictData(e.verdict))]];
      return ['immediate', [attrBe32(IMM.DREG, e.dreg), nest(IMM.DATA, dataValue(e.data))]];
    case 'bitwise':
      if ('mask' in e) {
        return [
          'bitwise',
          [
            attrBe32(BITWISE.SREG, e.sreg),
            attrBe32(BITWISE.DREG, e.dreg),
            attrBe32(BITWISE.LEN, e.len),
            nest(BITWISE.MASK, dataValue(e.mask)),
            nest(BITWISE.XOR, dataValue(e.xor)),
          ],
        ];
      }
      return [
        'bitwise',
        [
          attrBe32(BITWISE.SREG, e.sreg),
          attrBe32(BITWISE.DREG, e.dreg),
          attrBe32(BITWISE.LEN, e.len),
          attrBe32(BITWISE.OP, BITWISE_OP[e.op]),
          // The shift amount is a host-order u32 in a data value (nft_bitwise.c nft_bitwise_init_shift).
          nest(BITWISE.DATA, dataValue(hostU32(e.shift))),
        ],
      ];
    case 'nat': {
      const p = [attrBe32(NAT.TYPE, e.nat === 'snat' ? 0 : 1), attrBe32(NAT.FAMILY, NAT_FAMILY[e.family])];
      if (e.addrMin !== undefined) p.push(attrBe32(NAT.ADDR_MIN, e.addrMin));
      if (e.addrMax !== undefined) p.push(attrBe32(NAT.ADDR_MAX, e.addrMax));
      if (e.protoMin !== undefined) p.push(attrBe32(NAT.PROTO_MIN, e.protoMin));
      if (e.protoMax !== undefined) p.push(attrBe32(NAT.PROTO_MAX, e.protoMax));
      if (e.flags !== undefined) p.push(attrBe32(NAT.FLAGS, e.flags));
      return ['nat', p];
    }
    case 'masq': {
      const p: Buffer[] = [];
      if (e.flags !== undefined) p.push(attrBe32(MASQ.FLAGS, e.flags));
      if (e.protoMin !== undefined) p.push(attrBe32(MASQ.PROTO_MIN, e.protoMin));
      if (e.protoMax !== undefined) p.push(attrBe32(MASQ.PROTO_MAX, e.protoMax));
      return ['masq', p];
    }
    case 'redir': {
      const p: Buffer[] = [];
      if (e.protoMin !== undefined) p.push(attrBe32(REDIR.PROTO_MIN, e.protoMin));
      if (e.protoMax !== undefined) p.push(attrBe32(REDIR.PROTO_MAX, e.protoMax));
      if (e.flags !== undefined) p.push(attrBe32(REDIR.FLAGS, e.flags));
      return ['redir', p];
    }
    case 'ct': {
      if ('sreg' in e) return ['ct', [attrBe32(CT.KEY, keyNum(CT_KEY, e.key)), attrBe32(CT.SREG, e.sreg)]];
      // libnftnl order: key, dreg, direction.
      const p = [attrBe32(CT.KEY, keyNum(CT_KEY, e.key)), attrBe32(CT.DREG, e.dreg)];
      if (e.direction !== undefined)
        p.push(attr(CT.DIRECTION, Buffer.from([e.direction === 'original' ? 0 : 1])));
      return ['ct', p];
    }
    case 'counter': {
      const p: Buffer[] = [];
      if (e.bytes !== undefined) p.push(attrBe64(COUNTER.BYTES, e.bytes));
      if (e.packets !== undefined) p.push(attrBe64(COUNTER.PACKETS, e.packets));
      return ['counter', p];
    }
    case 'lookup': {
      const p = [attrBe32(LOOKUP.SREG, e.sreg), attrStr(LOOKUP.SET, e.set)];
      if (e.setId !== undefined) p.push(attrBe32(LOOKUP.SET_ID, e.setId));
      if (e.dreg !== undefined) p.push(attrBe32(LOOKUP.DREG, e.dreg));
      if (e.invert === true) p.push(attrBe32(LOOKUP.FLAGS, NFT_LOOKUP_F_INV));
      return ['lookup', p];
    }
    case 'fib':
      // libnftnl order: flags, result, dreg.
      return [
        'fib',
        [
          attrBe32(FIB.FLAGS, e.flags),
          attrBe32(FIB.RESULT, keyNum(FIB_RESULT, e.result)),
          attrBe32(FIB.DREG, e.dreg),
        ],
      ];
    case 'unknown':
      return [e.name, [e.data]];
  }
}

const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;

/** One expression as NFTA_LIST_ELEM {NFTA_EXPR_NAME, NFTA_EXPR_DATA}. */
export function encodeExpr(e: Expr): Buffer {
  const [name, data] = encodeOne(e);
  return nest(NFTA_LIST_ELEM, attrStr(NFTA_EXPR_NAME, name), nest(NFTA_EXPR_DATA, ...data));
}

/** The content of NFTA_RULE_EXPRESSIONS. */
export function encodeExprs(es: readonly Expr[]): Buffer {
  return Buffer.concat(es.map(encodeExpr));
}

/** Decodes the content of NFTA_RULE_EXPRESSIONS. */
export function decodeExprs(buf: Buffer): Expr[] {
  return parseAttrList(buf, 'expression list').map((el) => {
    const m = attrMap(el.value, 'expression');
    const name = str(m.get(NFTA_EXPR_NAME));
    if (name === undefined) throw bad('expression without a name');
    return decodeOne(name, m.get(NFTA_EXPR_DATA) ?? Buffer.alloc(0));
  });
}

function decodeOne(name: string, data: Buffer): Expr {
  const m = attrMap(data, name);
  switch (name) {
    case 'payload': {
      const base = keyName(PAYLOAD_BASE, be32(m.get(PAYLOAD.BASE), 'payload base'));
      if (typeof base === 'number') throw bad(`payload base ${base}`);
      const common = {
        base,
        offset: be32(m.get(PAYLOAD.OFFSET), 'payload offset'),
        len: be32(m.get(PAYLOAD.LEN), 'payload len'),
      };
      if (m.has(PAYLOAD.DREG))
        return { type: 'payload', ...common, dreg: be32(m.get(PAYLOAD.DREG), 'payload dreg') };
      return {
        type: 'payload',
        ...common,
        sreg: be32(m.get(PAYLOAD.SREG), 'payload sreg'),
        csumType: optBe32(m.get(PAYLOAD.CSUM_TYPE), 'csum type'),
        csumOffset: optBe32(m.get(PAYLOAD.CSUM_OFFSET), 'csum offset'),
        csumFlags: optBe32(m.get(PAYLOAD.CSUM_FLAGS), 'csum flags'),
      };
    }
    case 'meta': {
      const key = keyName(META_KEY, be32(m.get(META.KEY), 'meta key'));
      if (m.has(META.DREG)) return { type: 'meta', key, dreg: be32(m.get(META.DREG), 'meta dreg') };
      return { type: 'meta', key, sreg: be32(m.get(META.SREG), 'meta sreg') };
    }
    case 'cmp': {
      const op = keyName(CMP_OP, be32(m.get(CMP.OP), 'cmp op'));
      if (typeof op === 'number') throw bad(`cmp op ${op}`);
      return {
        type: 'cmp',
        op,
        sreg: be32(m.get(CMP.SREG), 'cmp sreg'),
        data: decodeDataValue(need(m, CMP.DATA, 'cmp data'), 'cmp data'),
      };
    }
    case 'range':
      return {
        type: 'range',
        op: be32(m.get(RANGE.OP), 'range op') === 0 ? 'eq' : 'neq',
        sreg: be32(m.get(RANGE.SREG), 'range sreg'),
        from: decodeDataValue(need(m, RANGE.FROM, 'range from'), 'range from'),
        to: decodeDataValue(need(m, RANGE.TO, 'range to'), 'range to'),
      };
    case 'immediate': {
      const d = decodeData(need(m, IMM.DATA, 'immediate data'), 'immediate data');
      if ('verdict' in d) return { type: 'immediate', verdict: d.verdict };
      return { type: 'immediate', dreg: be32(m.get(IMM.DREG), 'immediate dreg'), data: d.value };
    }
    case 'bitwise': {
      const common = {
        sreg: be32(m.get(BITWISE.SREG), 'bitwise sreg'),
        dreg: be32(m.get(BITWISE.DREG), 'bitwise dreg'),
        len: be32(m.get(BITWISE.LEN), 'bitwise len'),
      };
      const op = optBe32(m.get(BITWISE.OP), 'bitwise op') ?? 0;
      if (op === 0) {
        return {
          type: 'bitwise',
          ...common,
          mask: decodeDataValue(need(m, BITWISE.MASK, 'bitwise mask'), 'bitwise mask'),
          xor: decodeDataValue(need(m, BITWISE.XOR, 'bitwise xor'), 'bitwise xor'),
        };
      }
      const shift = decodeDataValue(need(m, BITWISE.DATA, 'bitwise data'), 'bitwise data');
      return {
        type: 'bitwise',
        ...common,
        op: op === 1 ? 'lshift' : 'rshift',
        shift: shift.length === 4 ? readHostU32(shift) : 0,
      };
    }
    case 'nat': {
      const fam = be32(m.get(NAT.FAMILY), 'nat family');
      return {
        type: 'nat',
        nat: be32(m.get(NAT.TYPE), 'nat type') === 0 ? 'snat' : 'dnat',
        family: fam === NAT_FAMILY.ip6 ? 'ip6' : 'ip',
        addrMin: optBe32(m.get(NAT.ADDR_MIN), 'nat addr min'),
        addrMax: optBe32(m.get(NAT.ADDR_MAX), 'nat addr max'),
        protoMin: optBe32(m.get(NAT.PROTO_MIN), 'nat proto min'),
        protoMax: optBe32(m.get(NAT.PROTO_MAX), 'nat proto max'),
        flags: optBe32(m.get(NAT.FLAGS), 'nat flags'),
      };
    }
    case 'masq':
      return {
        type: 'masq',
        flags: optBe32(m.get(MASQ.FLAGS), 'masq flags'),
        protoMin: optBe32(m.get(MASQ.PROTO_MIN), 'masq proto min'),
        protoMax: optBe32(m.get(MASQ.PROTO_MAX), 'masq proto max'),
      };
    case 'redir':
      return {
        type: 'redir',
        flags: optBe32(m.get(REDIR.FLAGS), 'redir flags'),
        protoMin: optBe32(m.get(REDIR.PROTO_MIN), 'redir proto min'),
        protoMax: optBe32(m.get(REDIR.PROTO_MAX), 'redir proto max'),
      };
    case 'ct': {
      const key = keyName(CT_KEY, be32(m.get(CT.KEY), 'ct key'));
      if (m.has(CT.SREG)) return { type: 'ct', key, sreg: be32(m.get(CT.SREG), 'ct sreg') };
      const dir = m.get(CT.DIRECTION);
      return {
        type: 'ct',
        key,
        dreg: be32(m.get(CT.DREG), 'ct dreg'),
        direction: dir === undefined ? undefined : dir.readUInt8(0) === 0 ? 'original' : 'reply',
      };
    }
    case 'counter': {
      const b = m.get(COUNTER.BYTES);
      const p = m.get(COUNTER.PACKETS);
      return {
        type: 'counter',
        bytes: b !== undefined && b.length === 8 ? b.readBigUInt64BE(0) : undefined,
        packets: p !== undefined && p.length === 8 ? p.readBigUInt64BE(0) : undefined,
      };
    }
    case 'lookup': {
      const set = str(m.get(LOOKUP.SET));
      if (set === undefined) throw bad('lookup without a set name');
      return {
        type: 'lookup',
        set,
        setId: optBe32(m.get(LOOKUP.SET_ID), 'lookup set id'),
        sreg: be32(m.get(LOOKUP.SREG), 'lookup sreg'),
        dreg: optBe32(m.get(LOOKUP.DREG), 'lookup dreg'),
        invert: ((optBe32(m.get(LOOKUP.FLAGS), 'lookup flags') ?? 0) & NFT_LOOKUP_F_INV) !== 0,
      };
    }
    case 'fib':
      return {
        type: 'fib',
        result: keyName(FIB_RESULT, be32(m.get(FIB.RESULT), 'fib result')),
        flags: be32(m.get(FIB.FLAGS), 'fib flags'),
        dreg: be32(m.get(FIB.DREG), 'fib dreg'),
      };
    default:
      return { type: 'unknown', name, data: Buffer.from(data) };
  }
}

/** A u32 in host order (meta/ct keys such as mark, state, status are host-order register content). */
export function hostU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (HOST_LE) b.writeUInt32LE(v >>> 0, 0);
  else b.writeUInt32BE(v >>> 0, 0);
  return b;
}

export function readHostU32(b: Buffer): number {
  return HOST_LE ? b.readUInt32LE(0) : b.readUInt32BE(0);
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
