// Builders of expression sequences for common matches and statements (pure). Each produces exactly the
// expressions `nft` 1.0.6 generates for the same words (checked with `nft --debug=netlink`), so what we
// write lists back as ordinary `nft` syntax: `meta nfproto ipv4 ip daddr 192.0.2.1 tcp dport 8080 dnat ip
// to 10.0.0.2:80`. Byte order of register contents: packet fields (addresses, ports) in network order,
// meta/ct/fib results in host order (they are kernel integers: nft_meta.c, nft_ct.c, nft_fib.c).
import { type Cidr, type Family, maskNetwork, prefixMask } from '../ip.js';
import type { Verdict } from './expr.js';
import { type Expr, FIB_F, hostU32, NF_NAT_RANGE, NFT_REG } from './expr.js';
import type { NftSetElement } from './wire.js';

const R1 = NFT_REG.R1;
const R2 = NFT_REG.R2;
const R3 = NFT_REG.R3;

/** IPPROTO_* (include/uapi/linux/in.h). */
export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;
export type L4Proto = keyof typeof IPPROTO;

/** NF_CT_STATE_*_BIT (nf_conntrack_common.h): 1 << (ctinfo % IP_CT_IS_REPLY + 1), invalid 1, untracked 64. */
export const CT_STATE = { invalid: 0x1, established: 0x2, related: 0x4, new: 0x8, untracked: 0x40 } as const;
export type CtState = keyof typeof CT_STATE;
/** enum ip_conntrack_status bits (nf_conntrack_common.h). */
export const CT_STATUS = {
  expected: 0x1,
  seen_reply: 0x2,
  assured: 0x4,
  confirmed: 0x8,
  snat: 0x10,
  dnat: 0x20,
} as const;
export type CtStatus = keyof typeof CT_STATUS;
/** RTN_LOCAL (rtnetlink.h): the address type `fib daddr type local` compares with. */
const RTN_LOCAL = 2;
/** IFNAMSIZ (if.h): `nft` compares interface names as 16 zero-padded bytes. */
const IFNAMSIZ = 16;

/** Header offsets (RFC 791, RFC 8200, RFC 793/768): where `ip saddr`, `ip6 daddr`, `th dport` live. */
const IP4 = { saddr: 12, daddr: 16 };
const IP6 = { saddr: 8, daddr: 24 };
const TH = { sport: 0, dport: 2 };

const u8 = (v: number): Buffer => Buffer.from([v]);
const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
};

function cmpPrefix(load: (len: number) => Expr, c: Cidr, not: boolean): Expr[] {
  const full = c.family === 4 ? 4 : 16;
  const op = not ? 'neq' : 'eq';
  const net = maskNetwork(c);
  if (c.prefixLen === 0) return [];
  // nft: a byte-aligned prefix loads only its bytes; any other loads the address and masks it.
  if (c.prefixLen % 8 === 0)
    return [load(c.prefixLen / 8), { type: 'cmp', op, sreg: R1, data: net.subarray(0, c.prefixLen / 8) }];
  return [
    load(full),
    {
      type: 'bitwise',
      sreg: R1,
      dreg: R1,
      len: full,
      mask: prefixMask(c.family, c.prefixLen),
      xor: Buffer.alloc(full),
    },
    { type: 'cmp', op, sreg: R1, data: net },
  ];
}

function ifnameBytes(name: string): Buffer {
  const b = Buffer.alloc(IFNAMSIZ);
  b.write(name, 'utf8');
  return b;
}

/** A ct bitmask key with any of `mask`'s bits set: load, `& mask`, `!= 0` (how nft matches flag lists). */
function ctAnyBit(key: 'state' | 'status', mask: number): Expr[] {
  return [
    { type: 'ct', key, dreg: R1 },
    { type: 'bitwise', sreg: R1, dreg: R1, len: 4, mask: hostU32(mask), xor: Buffer.alloc(4) },
    { type: 'cmp', op: 'neq', sreg: R1, data: Buffer.alloc(4) },
  ];
}

/** Matches: each returns the expressions of one `nft` match, comparing in register 1. */
export const match = {
  /** `meta nfproto ipv4|ipv6` (needed before ip/ip6 matches in an inet table). */
  nfproto(family: Family): Expr[] {
    return [
      { type: 'meta', key: 'nfproto', dreg: R1 },
      { type: 'cmp', op: 'eq', sreg: R1, data: u8(family === 4 ? 2 : 10) },
    ];
  },
  /** `meta l4proto tcp` (what `tcp dport` implies in inet/ip/ip6 tables). */
  l4proto(proto: L4Proto): Expr[] {
    return [
      { type: 'meta', key: 'l4proto', dreg: R1 },
      { type: 'cmp', op: 'eq', sreg: R1, data: u8(IPPROTO[proto]) },
    ];
  },
  /** `ip saddr 10.0.0.0/24`, `ip6 daddr != fd00::1` (no nfproto check: add match.nfproto in inet tables). */
  addr(field: 'saddr' | 'daddr', c: Cidr, not = false): Expr[] {
    const offset = c.family === 4 ? IP4[field] : IP6[field];
    return cmpPrefix((len) => ({ type: 'payload', base: 'network', offset, len, dreg: R1 }), c, not);
  },
  /** `th dport 8080` or `th dport 8080-8090` (after match.l4proto). A range is `cmp gte` + `cmp lte`. */
  port(field: 'sport' | 'dport', port: number | readonly [number, number], not = false): Expr[] {
    const load: Expr = { type: 'payload', base: 'transport', offset: TH[field], len: 2, dreg: R1 };
    if (typeof port === 'number')
      return [load, { type: 'cmp', op: not ? 'neq' : 'eq', sreg: R1, data: be16(port) }];
    if (not) return [load, { type: 'range', op: 'neq', sreg: R1, from: be16(port[0]), to: be16(port[1]) }];
    return [
      load,
      { type: 'cmp', op: 'gte', sreg: R1, data: be16(port[0]) },
      { type: 'cmp', op: 'lte', sreg: R1, data: be16(port[1]) },
    ];
  },
  /** `iifname "br0"` / `oifname != "br0"`. */
  ifname(dir: 'iifname' | 'oifname', name: string, not = false): Expr[] {
    return [
      { type: 'meta', key: dir, dreg: R1 },
      { type: 'cmp', op: not ? 'neq' : 'eq', sreg: R1, data: ifnameBytes(name) },
    ];
  },
  /** `ct state established,related` (any of them). */
  ctState(states: readonly CtState[]): Expr[] {
    return ctAnyBit(
      'state',
      states.reduce((m, s) => m | CT_STATE[s], 0),
    );
  },
  /** `ct status dnat` (any of them). */
  ctStatus(statuses: readonly CtStatus[]): Expr[] {
    return ctAnyBit(
      'status',
      statuses.reduce((m, s) => m | CT_STATUS[s], 0),
    );
  },
  /** `ct original ip saddr 10.0.0.0/24` (the tuple before NAT; `reply` for the answer direction). */
  ctAddr(direction: 'original' | 'reply', field: 'saddr' | 'daddr', c: Cidr, not = false): Expr[] {
    const key =
      c.family === 4 ? (field === 'saddr' ? 'src_ip' : 'dst_ip') : field === 'saddr' ? 'src_ip6' : 'dst_ip6';
    // The ct key loads the whole address; the compare covers the prefix, as for a payload load.
    return cmpPrefix(() => ({ type: 'ct', key, dreg: R1, direction }), c, not);
  },
  /** `fib daddr type local`: the destination is an address of this host (Docker's ADDRTYPE LOCAL). */
  fibDaddrLocal(): Expr[] {
    return [
      { type: 'fib', result: 'addrtype', flags: FIB_F.daddr, dreg: R1 },
      { type: 'cmp', op: 'eq', sreg: R1, data: hostU32(RTN_LOCAL) },
    ];
  },
  /** `ip saddr @set` / `… != @set`: a lookup of register 1 (load it first with another match's load). */
  lookup(set: string, invert = false): Expr {
    return { type: 'lookup', set, sreg: R1, invert };
  },
};

/** Loads a port (and a range's end into the next register) for nat/masq/redir: `immediate reg N 0x…`. */
function loadPorts(
  out: Expr[],
  reg: number,
  port: number | readonly [number, number] | undefined,
): { protoMin?: number | undefined; protoMax?: number | undefined } {
  if (port === undefined) return {};
  const [lo, hi] = typeof port === 'number' ? [port, undefined] : [port[0], port[1]];
  out.push({ type: 'immediate', dreg: reg, data: be16(lo) });
  if (hi === undefined) return { protoMin: reg };
  out.push({ type: 'immediate', dreg: reg + 1, data: be16(hi) });
  return { protoMin: reg, protoMax: reg + 1 };
}

/** Statements: NAT, verdicts, counters. */
export const stmt = {
  counter(): Expr {
    return { type: 'counter' };
  },
  verdict(v: Verdict): Expr {
    return { type: 'immediate', verdict: v };
  },
  accept(): Expr {
    return { type: 'immediate', verdict: { kind: 'accept' } };
  },
  drop(): Expr {
    return { type: 'immediate', verdict: { kind: 'drop' } };
  },
  return(): Expr {
    return { type: 'immediate', verdict: { kind: 'return' } };
  },
  jump(chain: string): Expr {
    return { type: 'immediate', verdict: { kind: 'jump', chain } };
  },
  goto(chain: string): Expr {
    return { type: 'immediate', verdict: { kind: 'goto', chain } };
  },
  /**
   * `dnat ip to 10.0.0.2:80`, `snat ip6 to [fd00::1]-[fd00::9]:1000-2000`: addresses in registers 1 (and
   * 2 for a range end), ports after them, then the nat expression (NF_NAT_RANGE_PROTO_SPECIFIED with
   * ports, as nft sends; the kernel adds NF_NAT_RANGE_MAP_IPS itself).
   */
  nat(
    kind: 'snat' | 'dnat',
    to: {
      address: Buffer;
      addressMax?: Buffer | undefined;
      port?: number | readonly [number, number] | undefined;
    },
  ): Expr[] {
    const family = to.address.length === 4 ? 'ip' : 'ip6';
    const out: Expr[] = [{ type: 'immediate', dreg: R1, data: to.address }];
    let next: number = R2;
    let addrMax: number | undefined;
    if (to.addressMax !== undefined) {
      out.push({ type: 'immediate', dreg: R2, data: to.addressMax });
      addrMax = R2;
      next = R3;
    }
    const { protoMin, protoMax } = loadPorts(out, next, to.port);
    out.push({
      type: 'nat',
      nat: kind,
      family,
      addrMin: R1,
      addrMax,
      protoMin,
      protoMax,
      flags: protoMin === undefined ? undefined : NF_NAT_RANGE.PROTO_SPECIFIED,
    });
    return out;
  },
  /** `masquerade [to :1000-2000] [random] [persistent] [fully-random]`. */
  masquerade(
    o: {
      port?: number | readonly [number, number];
      random?: boolean;
      fullyRandom?: boolean;
      persistent?: boolean;
    } = {},
  ): Expr[] {
    let flags = 0;
    if (o.random === true) flags |= NF_NAT_RANGE.PROTO_RANDOM;
    if (o.fullyRandom === true) flags |= NF_NAT_RANGE.PROTO_RANDOM_FULLY;
    if (o.persistent === true) flags |= NF_NAT_RANGE.PERSISTENT;
    const out: Expr[] = [];
    const { protoMin, protoMax } = loadPorts(out, R1, o.port);
    if (protoMin !== undefined) flags |= NF_NAT_RANGE.PROTO_SPECIFIED;
    out.push({ type: 'masq', flags: flags === 0 ? undefined : flags, protoMin, protoMax });
    return out;
  },
  /** `redirect to :8080` (to the host itself, rewriting the port). */
  redirect(port?: number): Expr[] {
    const out: Expr[] = [];
    const { protoMin } = loadPorts(out, R1, port);
    out.push(
      protoMin === undefined
        ? { type: 'redir' }
        : { type: 'redir', protoMin, flags: NF_NAT_RANGE.PROTO_SPECIFIED },
    );
    return out;
  },
};

/**
 * Elements of an interval set (flags `interval`), as the kernel's rbtree set holds them: each range is a
 * start element and an element flagged NFT_SET_ELEM_INTERVAL_END whose key is one past the range's last
 * value (nft's segtree does the same; `nft list` shows them as prefixes and ranges again). A range that
 * ends at the top of the key space has no end element. Ranges must not overlap (the kernel refuses it).
 */
export const intervals = {
  /** `{ 10.1.0.0/16, 192.0.2.1 }` for a set of type ipv4_addr or ipv6_addr. */
  cidrs(cidrs: readonly Cidr[]): NftSetElement[] {
    return cidrs.flatMap((c) => {
      const start = maskNetwork(c);
      if (c.prefixLen === 0) return [{ key: start }];
      // end = start + 2^(width - prefix): add the prefix's lowest bit, carrying towards the first byte.
      const end = Buffer.from(start);
      let i = Math.floor((c.prefixLen - 1) / 8);
      let add = 1 << (7 - ((c.prefixLen - 1) % 8));
      while (i >= 0 && add > 0) {
        const v = (end[i] ?? 0) + add;
        end[i] = v & 0xff;
        add = v >> 8;
        i--;
      }
      // Carried out of the top: the range ends at the last address, no end element.
      return add > 0 ? [{ key: start }] : [{ key: start }, { key: end, intervalEnd: true }];
    });
  },
  /** `{ 80, 8000-8100 }` for a set of type inet_service (ports in network order). */
  ports(ranges: readonly (number | readonly [number, number])[]): NftSetElement[] {
    return ranges.flatMap((r) => {
      const [lo, hi] = typeof r === 'number' ? [r, r] : [r[0], r[1]];
      return hi === 0xffff
        ? [{ key: be16(lo) }]
        : [{ key: be16(lo) }, { key: be16(hi + 1), intervalEnd: true }];
    });
  },
};
