// Pure rtnetlink encoders and decoders: no sockets, no I/O. Layouts from the kernel's UAPI headers
// (include/uapi/linux/{netlink,rtnetlink,if_link,if_addr,fib_rules,veth}.h). Every message is a 16-byte
// nlmsghdr, a fixed family header, then attributes: {u16 len (header included), u16 type, payload} padded
// to 4 bytes (NLA_ALIGNTO). Multi-byte fields are in host order (little-endian on x64/arm64), addresses in
// network order.

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

/** Message types (rtnetlink.h). */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWRULE: 32,
  DELRULE: 33,
  GETRULE: 34,
} as const;

/** nlmsghdr flags (netlink.h). */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
} as const;

export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

/** IFLA_* link attributes (if_link.h). */
export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  TXQLEN: 13,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_PID: 19,
  IFALIAS: 20,
  GROUP: 27,
  NET_NS_FD: 28,
  LINK_NETNSID: 37,
} as const;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
/** veth.h: VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's IFLA_* attributes. */
export const VETH_INFO_PEER = 1;

/** IFA_* address attributes and flags (if_addr.h). */
export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;
export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  OPTIMISTIC: 0x04,
  DADFAILED: 0x08,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  NOPREFIXROUTE: 0x200,
} as const;

/** RTA_* route attributes (rtnetlink.h). */
export const RTA = {
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  TABLE: 15,
} as const;
export const RTNH_F_ONLINK = 0x4;
export const RT_TABLE = { UNSPEC: 0, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const;
export const RT_SCOPE = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
export const RTPROT = { UNSPEC: 0, KERNEL: 2, BOOT: 3, STATIC: 4 } as const;

export const ROUTE_TYPES = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];

/** FRA_* rule attributes and FR_ACT_* actions (fib_rules.h). */
export const FRA = {
  DST: 1,
  SRC: 2,
  IIFNAME: 3,
  GOTO: 4,
  PRIORITY: 6,
  FWMARK: 10,
  TABLE: 15,
  FWMASK: 16,
  OIFNAME: 17,
} as const;
export const FIB_RULE_INVERT = 0x2;
export const RULE_ACTIONS = {
  lookup: 1,
  goto: 2,
  nop: 3,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
} as const;
export type RuleAction = keyof typeof RULE_ACTIONS;

const NLA_HDRLEN = 4;
/** NLA_F_NESTED and NLA_F_NET_BYTEORDER share the type field's top bits. */
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

// ---- attribute encoding --------------------------------------------------------------------------------

/** One attribute: header, payload, zero padding to 4 bytes. */
export function attr(type: number, payload: Uint8Array): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const out = Buffer.alloc(align4(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  out.set(payload, NLA_HDRLEN);
  return out;
}

export function attrU32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return attr(type, b);
}

export function attrS32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return attr(type, b);
}

/** A NUL-terminated string attribute (NLA_STRING / NLA_NUL_STRING). */
export function attrStr(type: number, s: string): Buffer {
  return attr(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]));
}

/** A nested attribute: the children, each already padded, concatenated. */
export function attrNested(type: number, ...children: Buffer[]): Buffer {
  return attr(type, Buffer.concat(children));
}

// ---- fixed headers -------------------------------------------------------------------------------------

export interface IfInfoMsg {
  family?: number;
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

/** struct ifinfomsg: u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change (16 bytes). */
export function ifinfomsg(h: IfInfoMsg = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(h.family ?? 0, 0);
  b.writeUInt16LE(h.type ?? 0, 2);
  b.writeInt32LE(h.index ?? 0, 4);
  b.writeUInt32LE((h.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((h.change ?? 0) >>> 0, 12);
  return b;
}

/** struct ifaddrmsg: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index (8 bytes). */
export function ifaddrmsg(
  family: number,
  prefixLen: number,
  flags: number,
  scope: number,
  index: number,
): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLen, 1);
  b.writeUInt8(flags & 0xff, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index >>> 0, 4);
  return b;
}

export interface RtMsg {
  family: number;
  dstLen?: number;
  srcLen?: number;
  tos?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}

/**
 * struct rtmsg and struct fib_rule_hdr share one 12-byte layout: u8 family, dst_len, src_len, tos, table,
 * protocol|res1, scope|res2, type|action, u32 flags.
 */
export function rtmsg(h: RtMsg): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(h.family, 0);
  b.writeUInt8(h.dstLen ?? 0, 1);
  b.writeUInt8(h.srcLen ?? 0, 2);
  b.writeUInt8(h.tos ?? 0, 3);
  b.writeUInt8(h.table ?? 0, 4);
  b.writeUInt8(h.protocol ?? 0, 5);
  b.writeUInt8(h.scope ?? 0, 6);
  b.writeUInt8(h.type ?? 0, 7);
  b.writeUInt32LE((h.flags ?? 0) >>> 0, 8);
  return b;
}

/** A complete netlink message (nlmsghdr: u32 len, u16 type, u16 flags, u32 seq, u32 port). */
export function nlmsg(type: number, flags: number, seq: number, payload: Uint8Array, port = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + payload.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  h.writeUInt32LE(port >>> 0, 12);
  return Buffer.concat([h, payload]);
}

// ---- link requests -------------------------------------------------------------------------------------

/** Link attributes a caller can set at creation or with SETLINK. */
export interface LinkAttrSpec {
  name?: string;
  mtu?: number;
  mac?: Buffer;
  group?: number;
  /** A namespace fd (IFLA_NET_NS_FD): create the link in / move it to that namespace. */
  netnsFd?: number;
  alias?: string;
}

export function linkAttrs(s: LinkAttrSpec): Buffer[] {
  const out: Buffer[] = [];
  if (s.name !== undefined) out.push(attrStr(IFLA.IFNAME, s.name));
  if (s.mtu !== undefined) out.push(attrU32(IFLA.MTU, s.mtu));
  if (s.mac !== undefined) out.push(attr(IFLA.ADDRESS, s.mac));
  if (s.group !== undefined) out.push(attrU32(IFLA.GROUP, s.group));
  if (s.netnsFd !== undefined) out.push(attrU32(IFLA.NET_NS_FD, s.netnsFd));
  if (s.alias !== undefined) out.push(attrStr(IFLA.IFALIAS, s.alias));
  return out;
}

/**
 * IFLA_LINKINFO for a veth pair: {IFLA_INFO_KIND "veth", IFLA_INFO_DATA {VETH_INFO_PEER: ifinfomsg + the
 * peer's IFLA_* attributes}} (drivers/net/veth.c veth_newlink). The peer's ifinfomsg must not carry IFF_UP:
 * the kernel refuses that with ENOTCONN (PROTOCOLS.md §4); bring the peer up with SETLINK afterwards.
 */
export function vethLinkInfo(peer: LinkAttrSpec): Buffer {
  const peerPayload = Buffer.concat([ifinfomsg(), ...linkAttrs(peer)]);
  return attrNested(
    IFLA.LINKINFO,
    attrStr(IFLA_INFO_KIND, 'veth'),
    attrNested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peerPayload)),
  );
}

/** RTM_NEWLINK payload creating a veth pair (send with CREATE|EXCL). */
export function newVethPayload(host: LinkAttrSpec & { up?: boolean }, peer: LinkAttrSpec): Buffer {
  const up = host.up === true ? IFF_UP : 0;
  return Buffer.concat([ifinfomsg({ flags: up, change: up }), ...linkAttrs(host), vethLinkInfo(peer)]);
}

/** RTM_SETLINK payload: rename, MTU, MAC, group, state and namespace move in one message. */
export function setLinkPayload(index: number, s: LinkAttrSpec & { up?: boolean }): Buffer {
  const change = s.up === undefined ? 0 : IFF_UP;
  const flags = s.up === true ? IFF_UP : 0;
  return Buffer.concat([ifinfomsg({ index, flags, change }), ...linkAttrs(s)]);
}

/** RTM_DELLINK / RTM_GETLINK payload selecting one link by index or by name. */
export function linkSelector(sel: { index: number } | { name: string }): Buffer {
  if ('index' in sel) return ifinfomsg({ index: sel.index });
  return Buffer.concat([ifinfomsg(), attrStr(IFLA.IFNAME, sel.name)]);
}

/** RTM_DELLINK payload deleting every link of a group (ifindex 0 + IFLA_GROUP: rtnl_group_dellink). */
export function deleteGroupPayload(group: number): Buffer {
  return Buffer.concat([ifinfomsg(), attrU32(IFLA.GROUP, group)]);
}

// ---- address requests ----------------------------------------------------------------------------------

export interface AddressSpec {
  family: number;
  prefixLen: number;
  index: number;
  local: Buffer;
  broadcast?: Buffer;
  flags?: number;
  scope?: number;
}

/** RTM_NEWADDR / RTM_DELADDR payload. Flags above 8 bits go in IFA_FLAGS (u32), so both are sent. */
export function addressPayload(a: AddressSpec): Buffer {
  const flags = a.flags ?? 0;
  const parts = [
    ifaddrmsg(a.family, a.prefixLen, flags, a.scope ?? 0, a.index),
    attr(IFA.LOCAL, a.local),
    attr(IFA.ADDRESS, a.local),
  ];
  if (a.broadcast !== undefined) parts.push(attr(IFA.BROADCAST, a.broadcast));
  if (flags !== 0) parts.push(attrU32(IFA.FLAGS, flags));
  return Buffer.concat(parts);
}

// ---- route requests ------------------------------------------------------------------------------------

export interface RouteWireSpec {
  family: number;
  dst?: Buffer;
  dstLen: number;
  gateway?: Buffer;
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags?: number;
  priority?: number;
  prefsrc?: Buffer;
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE payload. Tables above 255 do not fit rtm_table: like iproute2, the header
 * then says RT_TABLE_UNSPEC and RTA_TABLE (u32) carries the id; RTA_TABLE is always sent.
 */
export function routePayload(r: RouteWireSpec): Buffer {
  const parts = [
    rtmsg({
      family: r.family,
      dstLen: r.dstLen,
      table: r.table < 256 ? r.table : RT_TABLE.UNSPEC,
      protocol: r.protocol,
      scope: r.scope,
      type: r.type,
      flags: r.flags ?? 0,
    }),
    attrU32(RTA.TABLE, r.table),
  ];
  if (r.dst !== undefined) parts.push(attr(RTA.DST, r.dst));
  if (r.gateway !== undefined) parts.push(attr(RTA.GATEWAY, r.gateway));
  if (r.oif !== undefined) parts.push(attrU32(RTA.OIF, r.oif));
  if (r.priority !== undefined) parts.push(attrU32(RTA.PRIORITY, r.priority));
  if (r.prefsrc !== undefined) parts.push(attr(RTA.PREFSRC, r.prefsrc));
  return Buffer.concat(parts);
}

// ---- rule requests -------------------------------------------------------------------------------------

export interface RuleWireSpec {
  family: number;
  action: number;
  table?: number;
  priority?: number;
  src?: Buffer;
  srcLen?: number;
  dst?: Buffer;
  dstLen?: number;
  iifname?: string;
  oifname?: string;
  fwmark?: number;
  fwmask?: number;
  goto?: number;
  invert?: boolean;
}

/** RTM_NEWRULE / RTM_DELRULE payload: struct fib_rule_hdr + FRA_* attributes (fib_rules.h). */
export function rulePayload(r: RuleWireSpec): Buffer {
  const table = r.table ?? 0;
  const parts = [
    rtmsg({
      family: r.family,
      dstLen: r.dstLen ?? 0,
      srcLen: r.srcLen ?? 0,
      table: table < 256 ? table : RT_TABLE.UNSPEC,
      type: r.action,
      flags: r.invert === true ? FIB_RULE_INVERT : 0,
    }),
  ];
  if (r.table !== undefined) parts.push(attrU32(FRA.TABLE, r.table));
  if (r.priority !== undefined) parts.push(attrU32(FRA.PRIORITY, r.priority));
  if (r.src !== undefined) parts.push(attr(FRA.SRC, r.src));
  if (r.dst !== undefined) parts.push(attr(FRA.DST, r.dst));
  if (r.iifname !== undefined) parts.push(attrStr(FRA.IIFNAME, r.iifname));
  if (r.oifname !== undefined) parts.push(attrStr(FRA.OIFNAME, r.oifname));
  if (r.fwmark !== undefined) parts.push(attrU32(FRA.FWMARK, r.fwmark));
  if (r.fwmask !== undefined) parts.push(attrU32(FRA.FWMASK, r.fwmask));
  if (r.goto !== undefined) parts.push(attrU32(FRA.GOTO, r.goto));
  return Buffer.concat(parts);
}

// ---- decoding ------------------------------------------------------------------------------------------

/** Attributes from `offset` on, by type (nested/byte-order bits stripped; the last one of a type wins). */
export function parseAttrs(buf: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = offset;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** A NUL-terminated string payload. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (b === undefined) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

export function attrU32Value(b: Buffer | undefined): number | undefined {
  return b !== undefined && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

/** The errno of an NLMSG_ERROR payload (struct nlmsgerr: s32 error, then the request's header): 0 = ACK. */
export function errorOf(payload: Buffer): number {
  return payload.length >= 4 ? -payload.readInt32LE(0) : 0;
}

export const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export interface RawLink {
  index: number;
  flags: number;
  type: number;
  attrs: Map<number, Buffer>;
  kind: string | undefined;
}

/** An RTM_NEWLINK message body: ifinfomsg + attributes; `kind` from IFLA_LINKINFO/IFLA_INFO_KIND. */
export function decodeLinkMessage(data: Buffer): RawLink {
  const attrs = parseAttrs(data, 16);
  const info = attrs.get(IFLA.LINKINFO);
  const kind = info === undefined ? undefined : attrString(parseAttrs(info).get(IFLA_INFO_KIND));
  return {
    type: data.readUInt16LE(2),
    index: data.readInt32LE(4),
    flags: data.readUInt32LE(8),
    attrs,
    kind,
  };
}

export interface RawAddress {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
  attrs: Map<number, Buffer>;
}

export function decodeAddressMessage(data: Buffer): RawAddress {
  const attrs = parseAttrs(data, 8);
  const wide = attrU32Value(attrs.get(IFA.FLAGS));
  return {
    family: data.readUInt8(0),
    prefixLen: data.readUInt8(1),
    flags: wide ?? data.readUInt8(2),
    scope: data.readUInt8(3),
    index: data.readUInt32LE(4),
    attrs,
  };
}

export interface RawRoute {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  attrs: Map<number, Buffer>;
}

/** An RTM_NEWROUTE or RTM_NEWRULE body (same 12-byte header); `table` prefers the u32 attribute. */
export function decodeRouteMessage(data: Buffer): RawRoute {
  const attrs = parseAttrs(data, 12);
  return {
    family: data.readUInt8(0),
    dstLen: data.readUInt8(1),
    srcLen: data.readUInt8(2),
    tos: data.readUInt8(3),
    table: attrU32Value(attrs.get(RTA.TABLE)) ?? data.readUInt8(4),
    protocol: data.readUInt8(5),
    scope: data.readUInt8(6),
    type: data.readUInt8(7),
    flags: data.readUInt32LE(8),
    attrs,
  };
}
