// Pure nf_tables codec: NFNETLINK framing, batches and the table/chain/rule/set/element/generation messages.
// No sockets, no I/O. Layouts from the kernel's UAPI headers include/uapi/linux/netfilter/{nfnetlink,
// nf_tables}.h and include/uapi/linux/netfilter.h, checked against what `nft` 1.0.6 sends (captured with
// `strace -e write=FD`, see test/unit/nft-wire.test.ts).
//
// Byte order, the one trap of this protocol:
// - nlmsghdr and every nlattr header {u16 len, u16 type} are in host order (little-endian here), like all
//   netlink;
// - struct nfgenmsg's res_id is __be16 (nfnetlink.h);
// - every integer *attribute* of nf_tables is big-endian: the kernel reads them with ntohl(nla_get_be32())
//   and be64_to_cpu(nla_get_be64()) (net/netfilter/nf_tables_api.c), libnftnl writes htonl(). The
//   NLA_F_NET_BYTEORDER flag is not used for them;
// - the *data* an expression compares or loads (NFTA_DATA_VALUE) is raw register content: packet fields
//   (addresses, ports) are in network order, meta/ct keys in host order (see expr.ts).
import { align4, NLM_F, NLMSG_DONE, NLMSG_ERROR, nlmsg } from '../wire.js';
import {
  attr,
  attrBe32,
  attrBe64,
  attrMap,
  attrStr,
  be32,
  malformed,
  nest,
  optBe32,
  optBe64,
  parseAttrList,
  str,
} from './attr.js';
import {
  dataValue,
  decodeData,
  decodeDataValue,
  decodeExprs,
  type Expr,
  encodeExprs,
  type Verdict,
  verdictData,
} from './expr.js';

/** NETLINK_NETFILTER (include/uapi/linux/netlink.h). */
export const NETLINK_NETFILTER = 12;
/** NFNL_SUBSYS_NFTABLES (nfnetlink.h): the high byte of every nf_tables message type. */
export const NFNL_SUBSYS_NFTABLES = 10;
/** NFNL_MSG_BATCH_BEGIN/END = NLMSG_MIN_TYPE (0x10) and +1 (nfnetlink.h). */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
/** NFNL_BATCH_GENID (nfnetlink.h): u32, big-endian like all nfnetlink attributes. */
export const NFNL_BATCH_GENID = 1;
/** NLM_F_APPEND (netlink.h, "add to end of list"): what `nft add rule` sends with NLM_F_CREATE. */
export const NLM_F_APPEND = 0x800;
/** NLM_F_ECHO (netlink.h): the kernel unicasts the created object back (with its handle). */
export const NLM_F_ECHO = 0x8;

/** enum nf_tables_msg_types (nf_tables.h). */
export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  NEWSET: 9,
  GETSET: 10,
  DELSET: 11,
  NEWSETELEM: 12,
  GETSETELEM: 13,
  DELSETELEM: 14,
  NEWGEN: 15,
  GETGEN: 16,
} as const;

/** The full nlmsg_type of an nf_tables message: subsystem << 8 | message (nfnetlink.h NFNL_SUBSYS_ID). */
export const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

/** NFPROTO_* (include/uapi/linux/netfilter.h), the nfgen_family of a message. */
export const NFPROTO = { unspec: 0, inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
export type NftFamily = Exclude<keyof typeof NFPROTO, 'unspec'>;
export const NFT_FAMILIES = Object.keys(NFPROTO).filter((f) => f !== 'unspec') as NftFamily[];

/** enum nf_inet_hooks (netfilter.h); NF_NETDEV_INGRESS is 0 in the netdev family. */
export const NF_INET_HOOKS = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4, ingress: 5 };
export type NftHook = keyof typeof NF_INET_HOOKS;
/** NF_DROP / NF_ACCEPT (netfilter.h): a base chain's policy (NFTA_CHAIN_POLICY). */
export const NF_VERDICT = { drop: 0, accept: 1 } as const;
export type NftPolicy = keyof typeof NF_VERDICT;
/** Base chain types registered by the kernel (nft_chain_filter.c, nft_chain_nat.c, nft_chain_route.c). */
export const CHAIN_TYPES = ['filter', 'nat', 'route'] as const;
export type NftChainType = (typeof CHAIN_TYPES)[number];

/** Named hook priorities `nft` knows (nft(8) "PRIORITY"; NF_IP_PRI_* in netfilter_ipv4.h). */
export const NFT_PRIORITY = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

// Attribute numbers (nf_tables.h).
export const NFTA_TABLE = { NAME: 1, FLAGS: 2, USE: 3, HANDLE: 4, USERDATA: 6, OWNER: 7 } as const;
export const NFTA_CHAIN = {
  TABLE: 1,
  HANDLE: 2,
  NAME: 3,
  HOOK: 4,
  POLICY: 5,
  USE: 6,
  TYPE: 7,
  COUNTERS: 8,
  FLAGS: 10,
  ID: 11,
  USERDATA: 12,
} as const;
export const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2, DEV: 3 } as const;
export const NFTA_RULE = {
  TABLE: 1,
  CHAIN: 2,
  HANDLE: 3,
  EXPRESSIONS: 4,
  POSITION: 6,
  USERDATA: 7,
  ID: 9,
  POSITION_ID: 10,
} as const;
export const NFTA_SET = {
  TABLE: 1,
  NAME: 2,
  FLAGS: 3,
  KEY_TYPE: 4,
  KEY_LEN: 5,
  DATA_TYPE: 6,
  DATA_LEN: 7,
  POLICY: 8,
  DESC: 9,
  ID: 10,
  TIMEOUT: 11,
  USERDATA: 13,
  HANDLE: 16,
} as const;
export const NFTA_SET_DESC_SIZE = 1;
export const NFTA_SET_ELEM_LIST = { TABLE: 1, SET: 2, ELEMENTS: 3, SET_ID: 4 } as const;
export const NFTA_SET_ELEM = { KEY: 1, DATA: 2, FLAGS: 3, TIMEOUT: 4, USERDATA: 6, KEY_END: 10 } as const;
/** NFTA_LIST_ELEM (enum nft_list_attributes): each expression / element of a list nest. */
export const NFTA_LIST_ELEM = 1;
export const NFTA_GEN_ID = 1;

/** enum nft_set_flags (nf_tables.h). */
export const NFT_SET_F = {
  anonymous: 0x1,
  constant: 0x2,
  interval: 0x4,
  map: 0x8,
  timeout: 0x10,
  eval: 0x20,
  object: 0x40,
  concat: 0x80,
  expr: 0x100,
} as const;
export type NftSetFlag = keyof typeof NFT_SET_F;
/** NFT_SET_ELEM_INTERVAL_END (enum nft_set_elem_flags): the element closes the interval before it. */
export const NFT_SET_ELEM_INTERVAL_END = 0x1;
/** NFT_DATA_VERDICT (enum nft_data_types): the data type of a verdict map. */
export const NFT_DATA_VERDICT = 0xffffff00;

/**
 * Key/data type ids of sets. The kernel stores them without meaning ("informational purpose only",
 * nf_tables.h NFTA_SET_KEY_TYPE); these are nft's datatype numbers (nftables include/datatype.h), so that
 * `nft list` prints the elements as addresses and ports.
 */
export const NFT_TYPE = {
  verdict: 1,
  ipv4_addr: 7,
  ipv6_addr: 8,
  ether_addr: 9,
  inet_proto: 12,
  inet_service: 13,
  mark: 19,
  ifname: 41,
} as const;
export type NftDataTypeName = keyof typeof NFT_TYPE;

function reqStr(b: Buffer | undefined, what: string): string {
  const s = str(b);
  if (s === undefined) throw malformed(`${what} missing`);
  return s;
}

// ---- messages ------------------------------------------------------------------------------------------

/** One nf_tables request before framing: the 8-bit message type, flags, family and attributes. */
export interface NftRequest {
  msg: number;
  flags: number;
  family: number;
  attrs: Buffer;
}

/** struct nfgenmsg: u8 family, u8 version (NFNETLINK_V0), __be16 res_id (nfnetlink.h). */
export function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  b.writeUInt8(0, 1);
  b.writeUInt16BE(resId, 2);
  return b;
}

/** A whole nf_tables netlink message. */
export function encodeRequest(r: NftRequest, seq: number): Buffer {
  return nlmsg(nftType(r.msg), NLM_F.REQUEST | r.flags, seq, Buffer.concat([nfgenmsg(r.family), r.attrs]));
}

/**
 * A batch: NFNL_MSG_BATCH_BEGIN (nfgenmsg with res_id = NFNL_SUBSYS_NFTABLES, optionally NFNL_BATCH_GENID),
 * the requests with consecutive sequence numbers, NFNL_MSG_BATCH_END. The kernel applies a batch as one
 * transaction (nfnetlink.c nfnetlink_rcv_batch): all of it or none of it. It reports an error for every
 * failing message whatever its flags, an ACK only for messages with NLM_F_ACK, and for BATCH_END with
 * NLM_F_ACK an ACK once the commit succeeded. So by default only BATCH_END asks for one (`ackEach` asks
 * for one per message too): a large batch then does not fill the socket's receive buffer with ACKs.
 */
export function encodeBatch(
  requests: readonly NftRequest[],
  seq: number,
  options: { genId?: number | undefined; ackEach?: boolean } = {},
): Buffer {
  const ack = options.ackEach === true ? NLM_F.ACK : 0;
  const genid = options.genId === undefined ? Buffer.alloc(0) : attrBe32(NFNL_BATCH_GENID, options.genId);
  const parts = [
    nlmsg(
      NFNL_MSG_BATCH_BEGIN,
      NLM_F.REQUEST,
      seq,
      Buffer.concat([nfgenmsg(0, NFNL_SUBSYS_NFTABLES), genid]),
    ),
  ];
  requests.forEach((r, i) => {
    parts.push(encodeRequest({ ...r, flags: r.flags | ack }, seq + 1 + i));
  });
  parts.push(
    nlmsg(
      NFNL_MSG_BATCH_END,
      NLM_F.REQUEST | NLM_F.ACK,
      seq + 1 + requests.length,
      nfgenmsg(0, NFNL_SUBSYS_NFTABLES),
    ),
  );
  return Buffer.concat(parts);
}

/** A message as received: the netlink header fields and, for nfnetlink messages, the nfgenmsg family. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  /** Everything after the 16-byte nlmsghdr. */
  payload: Buffer;
}

/** Splits one datagram (or any concatenation) into messages; throws on a truncated or bogus header. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 16 > buf.length) throw malformed(`${buf.length - off} trailing bytes, shorter than a nlmsghdr`);
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) {
      throw malformed(`nlmsg_len ${len} at offset ${off} (${buf.length - off} bytes left)`);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      portId: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + 16, off + len),
    });
    off += align4(len);
  }
  return out;
}

/**
 * Incremental reader for a byte stream of netlink messages (a capture, a pipe): `push` chunks split
 * anywhere, get whole messages back. Sockets deliver whole datagrams; this is for everything else.
 */
export class NlMessageReader {
  #buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): NlMessage[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let end = 0;
    while (this.#buf.length - end >= 16) {
      const len = this.#buf.readUInt32LE(end);
      if (len < 16) throw malformed(`nlmsg_len ${len} at stream offset ${end}`);
      if (this.#buf.length - end < len) break;
      end += Math.min(align4(len), this.#buf.length - end);
    }
    const whole = this.#buf.subarray(0, end);
    this.#buf = this.#buf.subarray(end);
    return parseMessages(whole);
  }
  /** Bytes held back waiting for the rest of a message. */
  get pending(): number {
    return this.#buf.length;
  }
}

/** An NLMSG_ERROR payload (struct nlmsgerr): errno (positive; 0 = ACK) and the request's seq and type. */
export interface NlError {
  errno: number;
  seq: number;
  type: number;
}

export function decodeError(m: NlMessage): NlError {
  if (m.payload.length < 20) throw malformed(`NLMSG_ERROR of ${m.payload.length} bytes`);
  return {
    errno: -m.payload.readInt32LE(0),
    type: m.payload.readUInt16LE(8),
    seq: m.payload.readUInt32LE(12),
  };
}

export { NLMSG_DONE, NLMSG_ERROR };

/** The nfgenmsg family and the attributes of an nf_tables message. */
export function splitNft(m: NlMessage): { family: number; attrs: Buffer } {
  if (m.payload.length < 4) throw malformed(`message type 0x${m.type.toString(16)} without nfgenmsg`);
  return { family: m.payload.readUInt8(0), attrs: m.payload.subarray(4) };
}

export function familyName(f: number): NftFamily {
  const name = NFT_FAMILIES.find((n) => NFPROTO[n] === f);
  if (name === undefined) throw malformed(`unknown nf_tables family ${f}`);
  return name;
}

// ---- tables --------------------------------------------------------------------------------------------

export interface NftTable {
  family: NftFamily;
  name: string;
  /** NFT_TABLE_F_DORMANT (1), NFT_TABLE_F_OWNER (2). */
  flags: number;
  handle?: number | undefined;
  /** Number of chains (NFTA_TABLE_USE), dumps only. */
  use?: number | undefined;
}

export function tableAttrs(t: { name: string; flags?: number | undefined }, withFlags: boolean): Buffer {
  const parts = [attrStr(NFTA_TABLE.NAME, t.name)];
  if (withFlags) parts.push(attrBe32(NFTA_TABLE.FLAGS, t.flags ?? 0));
  return Buffer.concat(parts);
}

export function decodeTable(m: NlMessage): NftTable {
  const { family, attrs } = splitNft(m);
  const a = attrMap(attrs, 'table');
  return {
    family: familyName(family),
    name: reqStr(a.get(NFTA_TABLE.NAME), 'table name'),
    flags: optBe32(a.get(NFTA_TABLE.FLAGS), 'table flags') ?? 0,
    handle: optBe64(a.get(NFTA_TABLE.HANDLE), 'table handle'),
    use: optBe32(a.get(NFTA_TABLE.USE), 'table use'),
  };
}

// ---- chains --------------------------------------------------------------------------------------------

export interface NftBaseChainSpec {
  type: NftChainType;
  hook: NftHook;
  priority: number;
  policy?: NftPolicy | undefined;
  /** For netdev/ingress chains: the device (NFTA_HOOK_DEV). */
  device?: string | undefined;
}

export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  handle?: number | undefined;
  /** Present for base chains. */
  base?: NftBaseChainSpec | undefined;
  use?: number | undefined;
  flags?: number | undefined;
}

export function chainAttrs(c: {
  table: string;
  name?: string | undefined;
  handle?: number | undefined;
  base?: NftBaseChainSpec | undefined;
  family?: NftFamily | undefined;
}): Buffer {
  const parts = [attrStr(NFTA_CHAIN.TABLE, c.table)];
  if (c.handle !== undefined) parts.push(attrBe64(NFTA_CHAIN.HANDLE, c.handle));
  if (c.name !== undefined) parts.push(attrStr(NFTA_CHAIN.NAME, c.name));
  const b = c.base;
  if (b !== undefined) {
    // The order `nft` sends: type, policy, hook {hooknum, priority (s32 as be32)}.
    parts.push(attrStr(NFTA_CHAIN.TYPE, b.type));
    if (b.policy !== undefined) parts.push(attrBe32(NFTA_CHAIN.POLICY, NF_VERDICT[b.policy]));
    // netdev numbers its hooks apart: NF_NETDEV_INGRESS = 0 (netfilter.h enum nf_dev_hooks).
    const hooknum = c.family === 'netdev' && b.hook === 'ingress' ? 0 : NF_INET_HOOKS[b.hook];
    const hook = [attrBe32(NFTA_HOOK.HOOKNUM, hooknum), attrBe32(NFTA_HOOK.PRIORITY, b.priority)];
    if (b.device !== undefined) hook.push(attrStr(NFTA_HOOK.DEV, b.device));
    parts.push(nest(NFTA_CHAIN.HOOK, ...hook));
  }
  return Buffer.concat(parts);
}

export function decodeChain(m: NlMessage): NftChain {
  const { family, attrs } = splitNft(m);
  const a = attrMap(attrs, 'chain');
  const fam = familyName(family);
  const c: NftChain = {
    family: fam,
    table: reqStr(a.get(NFTA_CHAIN.TABLE), 'chain table'),
    name: reqStr(a.get(NFTA_CHAIN.NAME), 'chain name'),
    handle: optBe64(a.get(NFTA_CHAIN.HANDLE), 'chain handle'),
    use: optBe32(a.get(NFTA_CHAIN.USE), 'chain use'),
    flags: optBe32(a.get(NFTA_CHAIN.FLAGS), 'chain flags'),
  };
  const hook = a.get(NFTA_CHAIN.HOOK);
  if (hook !== undefined) {
    const h = attrMap(hook, 'chain hook');
    const num = be32(h.get(NFTA_HOOK.HOOKNUM), 'hook number');
    // netdev's only hook, NF_NETDEV_INGRESS, is 0 (netfilter.h enum nf_dev_hooks).
    const hookName =
      fam === 'netdev' && num === 0
        ? 'ingress'
        : (Object.keys(NF_INET_HOOKS) as NftHook[]).find((k) => NF_INET_HOOKS[k] === num);
    if (hookName === undefined) throw malformed(`chain ${c.name}: unknown hook number ${num}`);
    const policy = optBe32(a.get(NFTA_CHAIN.POLICY), 'chain policy');
    c.base = {
      type: (str(a.get(NFTA_CHAIN.TYPE)) ?? 'filter') as NftChainType,
      hook: hookName,
      priority: be32(h.get(NFTA_HOOK.PRIORITY), 'hook priority') | 0,
      policy: policy === undefined ? undefined : policy === NF_VERDICT.accept ? 'accept' : 'drop',
      device: str(h.get(NFTA_HOOK.DEV)),
    };
  }
  return c;
}

// ---- rules ---------------------------------------------------------------------------------------------

export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  handle?: number | undefined;
  /** In dumps: the handle of the rule before this one (0 or absent = first). */
  position?: number | undefined;
  expressions: Expr[];
  /** From NFTA_RULE_USERDATA's comment TLV, as `nft` writes it. */
  comment?: string | undefined;
  /** NFTA_RULE_USERDATA as it was, when it held more than a comment. */
  userdata?: Buffer | undefined;
}

/**
 * libnftnl's rule userdata is a list of TLVs {u8 type, u8 len, value}; NFTNL_UDATA_RULE_COMMENT is type 0
 * and holds the comment NUL-terminated (libnftnl include/libnftnl/udata.h; nft src/rule.c). At most
 * NFT_USERDATA_MAXLEN (256) bytes in all (nf_tables.h).
 */
export const UDATA_RULE_COMMENT = 0;
export const NFT_USERDATA_MAXLEN = 256;

export function commentUserdata(comment: string): Buffer {
  const v = Buffer.concat([Buffer.from(comment, 'utf8'), Buffer.alloc(1)]);
  if (v.length > 255) throw malformed(`comment of ${v.length} bytes does not fit a udata TLV`);
  return Buffer.concat([Buffer.from([UDATA_RULE_COMMENT, v.length]), v]);
}

export function commentOf(userdata: Buffer): string | undefined {
  let off = 0;
  while (off + 2 <= userdata.length) {
    const type = userdata.readUInt8(off);
    const len = userdata.readUInt8(off + 1);
    if (off + 2 + len > userdata.length) return undefined;
    if (type === UDATA_RULE_COMMENT) return str(userdata.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return undefined;
}

export interface RuleAttrSpec {
  table: string;
  chain: string;
  handle?: number | undefined;
  position?: number | undefined;
  expressions?: readonly Expr[] | undefined;
  userdata?: Buffer | undefined;
}

/** Rule attributes in the order `nft` sends them: table, chain, handle, position, expressions, userdata. */
export function ruleAttrs(r: RuleAttrSpec): Buffer {
  const parts = [attrStr(NFTA_RULE.TABLE, r.table), attrStr(NFTA_RULE.CHAIN, r.chain)];
  if (r.handle !== undefined) parts.push(attrBe64(NFTA_RULE.HANDLE, r.handle));
  if (r.position !== undefined) parts.push(attrBe64(NFTA_RULE.POSITION, r.position));
  if (r.expressions !== undefined) parts.push(nest(NFTA_RULE.EXPRESSIONS, encodeExprs(r.expressions)));
  if (r.userdata !== undefined) parts.push(attr(NFTA_RULE.USERDATA, r.userdata));
  return Buffer.concat(parts);
}

export function decodeRule(m: NlMessage): NftRule {
  const { family, attrs } = splitNft(m);
  const a = attrMap(attrs, 'rule');
  const exprs = a.get(NFTA_RULE.EXPRESSIONS);
  const udata = a.get(NFTA_RULE.USERDATA);
  const rule: NftRule = {
    family: familyName(family),
    table: reqStr(a.get(NFTA_RULE.TABLE), 'rule table'),
    chain: reqStr(a.get(NFTA_RULE.CHAIN), 'rule chain'),
    handle: optBe64(a.get(NFTA_RULE.HANDLE), 'rule handle'),
    position: optBe64(a.get(NFTA_RULE.POSITION), 'rule position'),
    expressions: exprs === undefined ? [] : decodeExprs(exprs),
  };
  if (udata !== undefined) {
    const comment = commentOf(udata);
    if (comment !== undefined) rule.comment = comment;
    if (comment === undefined || udata.length !== commentUserdata(comment).length)
      rule.userdata = Buffer.from(udata);
  }
  return rule;
}

// ---- sets and elements ---------------------------------------------------------------------------------

export interface NftSet {
  family: NftFamily;
  table: string;
  name: string;
  handle?: number | undefined;
  flags: NftSetFlag[];
  keyType: number;
  keyLen: number;
  dataType?: number | undefined;
  dataLen?: number | undefined;
  /** NFTA_SET_ID: names the set to later messages of the same batch (lookup/elements by id). */
  id?: number | undefined;
  /** NFTA_SET_DESC_SIZE: expected number of elements. */
  size?: number | undefined;
  /** Default element timeout in ms (NFTA_SET_TIMEOUT). */
  timeout?: number | undefined;
  userdata?: Buffer | undefined;
}

export function setFlagsValue(flags: readonly NftSetFlag[]): number {
  return flags.reduce((acc, f) => acc | NFT_SET_F[f], 0);
}

export function setFlagNames(v: number): NftSetFlag[] {
  return (Object.keys(NFT_SET_F) as NftSetFlag[]).filter((f) => (v & NFT_SET_F[f]) !== 0);
}

/** Set attributes in libnftnl's order (nftnl_set_nlmsg_build_payload). */
export function setAttrs(s: Omit<NftSet, 'family' | 'handle'>): Buffer {
  const parts = [attrStr(NFTA_SET.TABLE, s.table), attrStr(NFTA_SET.NAME, s.name)];
  parts.push(attrBe32(NFTA_SET.FLAGS, setFlagsValue(s.flags)));
  parts.push(attrBe32(NFTA_SET.KEY_TYPE, s.keyType), attrBe32(NFTA_SET.KEY_LEN, s.keyLen));
  if (s.dataType !== undefined) parts.push(attrBe32(NFTA_SET.DATA_TYPE, s.dataType));
  if (s.dataLen !== undefined) parts.push(attrBe32(NFTA_SET.DATA_LEN, s.dataLen));
  if (s.size !== undefined) parts.push(nest(NFTA_SET.DESC, attrBe32(NFTA_SET_DESC_SIZE, s.size)));
  if (s.id !== undefined) parts.push(attrBe32(NFTA_SET.ID, s.id));
  if (s.timeout !== undefined) parts.push(attrBe64(NFTA_SET.TIMEOUT, s.timeout));
  if (s.userdata !== undefined) parts.push(attr(NFTA_SET.USERDATA, s.userdata));
  return Buffer.concat(parts);
}

export function setSelectorAttrs(table: string, name: string | undefined, handle?: number): Buffer {
  const parts = [attrStr(NFTA_SET.TABLE, table)];
  if (name !== undefined) parts.push(attrStr(NFTA_SET.NAME, name));
  if (handle !== undefined) parts.push(attrBe64(NFTA_SET.HANDLE, handle));
  return Buffer.concat(parts);
}

export function decodeSet(m: NlMessage): NftSet {
  const { family, attrs } = splitNft(m);
  const a = attrMap(attrs, 'set');
  const desc = a.get(NFTA_SET.DESC);
  const s: NftSet = {
    family: familyName(family),
    table: reqStr(a.get(NFTA_SET.TABLE), 'set table'),
    name: reqStr(a.get(NFTA_SET.NAME), 'set name'),
    handle: optBe64(a.get(NFTA_SET.HANDLE), 'set handle'),
    flags: setFlagNames(optBe32(a.get(NFTA_SET.FLAGS), 'set flags') ?? 0),
    keyType: optBe32(a.get(NFTA_SET.KEY_TYPE), 'set key type') ?? 0,
    keyLen: be32(a.get(NFTA_SET.KEY_LEN), 'set key length'),
    dataType: optBe32(a.get(NFTA_SET.DATA_TYPE), 'set data type'),
    dataLen: optBe32(a.get(NFTA_SET.DATA_LEN), 'set data length'),
    id: optBe32(a.get(NFTA_SET.ID), 'set id'),
    size: desc === undefined ? undefined : optBe32(attrMap(desc).get(NFTA_SET_DESC_SIZE), 'set size'),
    timeout: optBe64(a.get(NFTA_SET.TIMEOUT), 'set timeout'),
  };
  const u = a.get(NFTA_SET.USERDATA);
  if (u !== undefined) s.userdata = Buffer.from(u);
  return s;
}

/** A set element: a key (raw bytes), for maps a value or a verdict, for interval sets an end flag. */
export interface NftSetElement {
  key: Buffer;
  /** Closing key of a range (NFTA_SET_ELEM_KEY_END, concatenated-range sets). */
  keyEnd?: Buffer | undefined;
  data?: Buffer | undefined;
  verdict?: Verdict | undefined;
  /** NFT_SET_ELEM_INTERVAL_END. */
  intervalEnd?: boolean | undefined;
  timeout?: number | undefined;
}

export function elementsAttrs(
  set: { table: string; name?: string | undefined; id?: number | undefined },
  elements: readonly NftSetElement[],
): Buffer {
  const parts = [attrStr(NFTA_SET_ELEM_LIST.TABLE, set.table)];
  if (set.name !== undefined) parts.push(attrStr(NFTA_SET_ELEM_LIST.SET, set.name));
  if (set.id !== undefined) parts.push(attrBe32(NFTA_SET_ELEM_LIST.SET_ID, set.id));
  if (elements.length > 0) {
    const list = elements.map((e) => {
      const p = [nest(NFTA_SET_ELEM.KEY, dataValue(e.key))];
      if (e.keyEnd !== undefined) p.push(nest(NFTA_SET_ELEM.KEY_END, dataValue(e.keyEnd)));
      if (e.data !== undefined) p.push(nest(NFTA_SET_ELEM.DATA, dataValue(e.data)));
      if (e.verdict !== undefined) p.push(nest(NFTA_SET_ELEM.DATA, verdictData(e.verdict)));
      if (e.intervalEnd === true) p.push(attrBe32(NFTA_SET_ELEM.FLAGS, NFT_SET_ELEM_INTERVAL_END));
      if (e.timeout !== undefined) p.push(attrBe64(NFTA_SET_ELEM.TIMEOUT, e.timeout));
      return nest(NFTA_LIST_ELEM, ...p);
    });
    parts.push(nest(NFTA_SET_ELEM_LIST.ELEMENTS, ...list));
  }
  return Buffer.concat(parts);
}

export function decodeElements(m: NlMessage): {
  family: NftFamily;
  table: string;
  set: string;
  elements: NftSetElement[];
} {
  const { family, attrs } = splitNft(m);
  const a = attrMap(attrs, 'set elements');
  const list = a.get(NFTA_SET_ELEM_LIST.ELEMENTS);
  const elements: NftSetElement[] = [];
  for (const item of list === undefined ? [] : parseAttrList(list, 'element list')) {
    const e = attrMap(item.value, 'element');
    const key = e.get(NFTA_SET_ELEM.KEY);
    const el: NftSetElement = {
      key: key === undefined ? Buffer.alloc(0) : decodeDataValue(key, 'element key'),
    };
    const keyEnd = e.get(NFTA_SET_ELEM.KEY_END);
    if (keyEnd !== undefined) el.keyEnd = decodeDataValue(keyEnd, 'element key end');
    const data = e.get(NFTA_SET_ELEM.DATA);
    if (data !== undefined) {
      const d = decodeData(data, 'element data');
      if ('verdict' in d) el.verdict = d.verdict;
      else el.data = d.value;
    }
    const flags = optBe32(e.get(NFTA_SET_ELEM.FLAGS), 'element flags') ?? 0;
    if ((flags & NFT_SET_ELEM_INTERVAL_END) !== 0) el.intervalEnd = true;
    const timeout = optBe64(e.get(NFTA_SET_ELEM.TIMEOUT), 'element timeout');
    if (timeout !== undefined) el.timeout = timeout;
    elements.push(el);
  }
  return {
    family: familyName(family),
    table: reqStr(a.get(NFTA_SET_ELEM_LIST.TABLE), 'element table'),
    set: reqStr(a.get(NFTA_SET_ELEM_LIST.SET), 'element set'),
    elements,
  };
}

/** The ruleset generation of a NEWGEN message (NFTA_GEN_ID, be32). */
export function decodeGeneration(m: NlMessage): number {
  return be32(attrMap(splitNft(m).attrs, 'generation').get(NFTA_GEN_ID), 'generation id');
}
