// The rtnetlink codec between the public types (types.ts) and the wire (wire.ts): pure functions, no socket,
// no namespace. Requests: a RouteSpec/RuleSpec/link options checked and turned into the fields wire.ts
// encodes; replies: decoded messages turned into Link, Address, Route and Rule. NetlinkHandle (handle.ts)
// only sends and receives.
import { NetlinkInvalidArgumentError } from './errors.js';
import {
  AF_INET,
  AF_INET6,
  afOf,
  type Cidr,
  type Family,
  formatIp,
  maskNetwork,
  parseCidr,
  parseIp,
} from './ip.js';
import type { Address, Link, Route, RouteSpec, Rule, RuleSpec } from './types.js';
import { formatMac, isIfindex, parseMac, validateIfname, validateMtu, validateU32 } from './validate.js';
import {
  attrString,
  attrU32Value,
  decodeAddressMessage,
  decodeLinkMessage,
  decodeRouteMessage,
  FRA,
  IFA,
  IFA_F,
  IFF_LOWER_UP,
  IFF_UP,
  IFLA,
  type LinkAttrSpec,
  OPER_STATES,
  ROUTE_TYPES,
  RT_SCOPE,
  RT_TABLE,
  RTA,
  RTNH_F_ONLINK,
  RTPROT,
  RULE_ACTIONS,
  type RuleAction,
} from './wire.js';

export function selector(link: unknown, field: string): { index: number } | { name: string } {
  if (typeof link === 'number') {
    if (!isIfindex(link)) {
      throw new NetlinkInvalidArgumentError(field, link, 'an interface name or an ifindex (integer > 0)');
    }
    return { index: link };
  }
  return { name: validateIfname(link, field) };
}

export function linkSpec(
  o: {
    mtu?: number | undefined;
    mac?: string | undefined;
    group?: number | undefined;
    alias?: string | undefined;
  },
  prefix: string,
): LinkAttrSpec {
  const s: LinkAttrSpec = {};
  if (o.mtu !== undefined) s.mtu = validateMtu(o.mtu, `${prefix}mtu`);
  if (o.mac !== undefined) s.mac = parseMac(o.mac, `${prefix}mac`);
  if (o.group !== undefined) s.group = validateU32(o.group, `${prefix}group`);
  if (o.alias !== undefined) {
    if (typeof o.alias !== 'string' || Buffer.byteLength(o.alias) > 255) {
      throw new NetlinkInvalidArgumentError(`${prefix}alias`, o.alias, 'a string of at most 255 bytes');
    }
    s.alias = o.alias;
  }
  return s;
}

export function checkFamily(f: unknown): Family {
  if (f !== 4 && f !== 6) throw new NetlinkInvalidArgumentError('family', f, '4 or 6');
  return f;
}

export function familyOf(af: number): Family | undefined {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  return undefined;
}

export function toLink(data: Buffer): Link {
  const raw = decodeLinkMessage(data);
  const a = raw.attrs;
  const mac = a.get(IFLA.ADDRESS);
  const linkAttr = a.get(IFLA.LINK);
  const netnsId = a.get(IFLA.LINK_NETNSID);
  return {
    index: raw.index,
    name: attrString(a.get(IFLA.IFNAME)) ?? '',
    mtu: attrU32Value(a.get(IFLA.MTU)) ?? 0,
    mac: mac === undefined || mac.length === 0 ? undefined : formatMac(mac),
    up: (raw.flags & IFF_UP) !== 0,
    lowerUp: (raw.flags & IFF_LOWER_UP) !== 0,
    operState: OPER_STATES[a.get(IFLA.OPERSTATE)?.readUInt8(0) ?? 0] ?? 'unknown',
    kind: raw.kind,
    group: attrU32Value(a.get(IFLA.GROUP)) ?? 0,
    master: attrU32Value(a.get(IFLA.MASTER)),
    peerIndex: linkAttr === undefined ? undefined : linkAttr.readInt32LE(0),
    linkNetnsId: netnsId === undefined ? undefined : netnsId.readInt32LE(0),
    alias: attrString(a.get(IFLA.IFALIAS)),
    flags: raw.flags,
  };
}

export function toAddress(data: Buffer): Address | undefined {
  const raw = decodeAddressMessage(data);
  const family = familyOf(raw.family);
  const bytes = raw.attrs.get(IFA.LOCAL) ?? raw.attrs.get(IFA.ADDRESS);
  if (family === undefined || bytes === undefined) return undefined;
  const address = formatIp(bytes);
  return {
    index: raw.index,
    family,
    address,
    prefixLen: raw.prefixLen,
    cidr: `${address}/${raw.prefixLen}`,
    scope: raw.scope,
    label: attrString(raw.attrs.get(IFA.LABEL)),
    flags: raw.flags,
    nodad: (raw.flags & IFA_F.NODAD) !== 0,
    tentative: (raw.flags & IFA_F.TENTATIVE) !== 0,
    dadFailed: (raw.flags & IFA_F.DADFAILED) !== 0,
    permanent: (raw.flags & IFA_F.PERMANENT) !== 0,
  };
}

export function toRoute(raw: ReturnType<typeof decodeRouteMessage>): Route | undefined {
  const family = familyOf(raw.family);
  if (family === undefined) return undefined;
  const a = raw.attrs;
  const dst = a.get(RTA.DST);
  const gw = a.get(RTA.GATEWAY);
  const src = a.get(RTA.PREFSRC);
  return {
    family,
    dst: dst === undefined || raw.dstLen === 0 ? 'default' : `${formatIp(dst)}/${raw.dstLen}`,
    gateway: gw === undefined ? undefined : formatIp(gw),
    dev: attrU32Value(a.get(RTA.OIF)),
    table: raw.table,
    protocol: raw.protocol,
    scope: raw.scope,
    type: ROUTE_TYPES[raw.type] ?? 'unspec',
    metric: attrU32Value(a.get(RTA.PRIORITY)),
    src: src === undefined ? undefined : formatIp(src),
    onLink: (raw.flags & RTNH_F_ONLINK) !== 0,
  };
}

/** RuleSpec → the fields of an RTM_NEWRULE/RTM_DELRULE request. */
export function ruleWire(spec: RuleSpec, forDelete: boolean) {
  if (typeof spec !== 'object' || spec === null) {
    throw new NetlinkInvalidArgumentError(
      'rule',
      spec,
      '{priority?, from?, to?, table?, action?, iif?, oif?, …}',
    );
  }
  const from = spec.from === undefined ? undefined : parseCidr(spec.from, 'from', false);
  const to = spec.to === undefined ? undefined : parseCidr(spec.to, 'to', false);
  const family = from?.family ?? to?.family ?? (spec.family === undefined ? 4 : checkFamily(spec.family));
  if ((from !== undefined && from.family !== family) || (to !== undefined && to.family !== family)) {
    throw new NetlinkInvalidArgumentError('rule', describeRule(spec), 'from and to of the same IP family');
  }
  let action: RuleAction | undefined = spec.action;
  if (action !== undefined && !(action in RULE_ACTIONS)) {
    throw new NetlinkInvalidArgumentError('action', action, Object.keys(RULE_ACTIONS).join(', '));
  }
  if (action === undefined && spec.table !== undefined) action = 'lookup';
  if (!forDelete) {
    if (action === undefined) {
      throw new NetlinkInvalidArgumentError('rule', describeRule(spec), 'a table (lookup) or an action');
    }
    if (action === 'lookup' && spec.table === undefined) {
      throw new NetlinkInvalidArgumentError('table', spec.table, "a table id for action 'lookup'");
    }
    if (action === 'goto' && spec.goto === undefined) {
      throw new NetlinkInvalidArgumentError('goto', spec.goto, "a target priority for action 'goto'");
    }
  }
  return {
    family: afOf(family),
    action: action === undefined ? 0 : RULE_ACTIONS[action],
    ...(spec.table === undefined ? {} : { table: validateU32(spec.table, 'table', 1) }),
    ...(spec.priority === undefined ? {} : { priority: validateU32(spec.priority, 'priority') }),
    ...(from === undefined ? {} : { src: maskNetwork(from), srcLen: from.prefixLen }),
    ...(to === undefined ? {} : { dst: maskNetwork(to), dstLen: to.prefixLen }),
    ...(spec.iif === undefined ? {} : { iifname: validateIfname(spec.iif, 'iif') }),
    ...(spec.oif === undefined ? {} : { oifname: validateIfname(spec.oif, 'oif') }),
    ...(spec.fwmark === undefined ? {} : { fwmark: validateU32(spec.fwmark, 'fwmark') }),
    ...(spec.fwmask === undefined ? {} : { fwmask: validateU32(spec.fwmask, 'fwmask') }),
    ...(spec.goto === undefined ? {} : { goto: validateU32(spec.goto, 'goto') }),
    ...(spec.invert === true ? { invert: true } : {}),
  };
}

export function toRule(data: Buffer): Rule {
  const raw = decodeRouteMessage(data);
  const a = raw.attrs;
  const src = a.get(FRA.SRC);
  const dst = a.get(FRA.DST);
  const action = (Object.entries(RULE_ACTIONS).find(([, v]) => v === raw.type)?.[0] ?? 'unknown') as
    | RuleAction
    | 'unknown';
  return {
    family: familyOf(raw.family) ?? 4,
    priority: attrU32Value(a.get(FRA.PRIORITY)) ?? 0,
    from: src === undefined ? undefined : `${formatIp(src)}/${raw.srcLen}`,
    to: dst === undefined ? undefined : `${formatIp(dst)}/${raw.dstLen}`,
    table: attrU32Value(a.get(FRA.TABLE)) ?? raw.table,
    action,
    goto: attrU32Value(a.get(FRA.GOTO)),
    iif: attrString(a.get(FRA.IIFNAME)),
    oif: attrString(a.get(FRA.OIFNAME)),
    fwmark: attrU32Value(a.get(FRA.FWMARK)),
    fwmask: attrU32Value(a.get(FRA.FWMASK)),
    invert: (raw.flags & 0x2) !== 0,
  };
}

export function describeRoute(spec: RouteSpec): string {
  if (typeof spec !== 'object' || spec === null) return String(spec);
  const parts = [String(spec.dst)];
  if (spec.gateway !== undefined) parts.push(`via ${spec.gateway}`);
  if (spec.dev !== undefined) parts.push(`dev ${spec.dev}`);
  if (spec.table !== undefined) parts.push(`table ${spec.table}`);
  if (spec.type !== undefined) parts.unshift(spec.type);
  return parts.join(' ');
}

export function describeRule(spec: RuleSpec): string {
  if (typeof spec !== 'object' || spec === null) return String(spec);
  const parts: string[] = [];
  if (spec.priority !== undefined) parts.push(`pref ${spec.priority}`);
  if (spec.invert === true) parts.push('not');
  parts.push(`from ${spec.from ?? 'all'}`);
  if (spec.to !== undefined) parts.push(`to ${spec.to}`);
  if (spec.iif !== undefined) parts.push(`iif ${spec.iif}`);
  if (spec.oif !== undefined) parts.push(`oif ${spec.oif}`);
  if (spec.table !== undefined) parts.push(`lookup ${spec.table}`);
  if (spec.action !== undefined && spec.action !== 'lookup') parts.push(spec.action);
  return parts.join(' ');
}

/** RouteSpec → the fields of an RTM_NEWROUTE/RTM_DELROUTE request (`oif`: the resolved `dev`). */
export function routeWire(spec: RouteSpec, oif: number | undefined, forDelete: boolean) {
  if (typeof spec !== 'object' || spec === null) {
    throw new NetlinkInvalidArgumentError(
      'route',
      spec,
      '{dst, gateway?, dev?, table?, onLink?, metric?, …}',
    );
  }
  let dst: Cidr | undefined;
  if (spec.dst !== 'default') dst = parseCidr(spec.dst, 'dst', false);
  const gw = spec.gateway === undefined ? undefined : parseIp(spec.gateway, 'gateway');
  const src = spec.src === undefined ? undefined : parseIp(spec.src, 'src');
  const family = dst?.family ?? gw?.family ?? (spec.family === undefined ? 4 : checkFamily(spec.family));
  for (const [field, v] of [
    ['gateway', gw],
    ['src', src],
  ] as const) {
    if (v !== undefined && v.family !== family) {
      throw new NetlinkInvalidArgumentError(field, spec[field], `an IPv${family} address (like dst)`);
    }
  }
  const typeName = spec.type ?? 'unicast';
  const type = ROUTE_TYPES.indexOf(typeName);
  if (type <= 0) throw new NetlinkInvalidArgumentError('type', spec.type, ROUTE_TYPES.slice(1).join(', '));
  const table = spec.table === undefined ? RT_TABLE.MAIN : validateU32(spec.table, 'table', 1);
  if (!forDelete && typeName === 'unicast' && gw === undefined && oif === undefined) {
    throw new NetlinkInvalidArgumentError(
      'route',
      describeRoute(spec),
      'a unicast route needs gateway or dev',
    );
  }
  const scopes = { universe: RT_SCOPE.UNIVERSE, link: RT_SCOPE.LINK, host: RT_SCOPE.HOST };
  let scope: number;
  if (spec.scope !== undefined) {
    scope = scopes[spec.scope];
    if (scope === undefined)
      throw new NetlinkInvalidArgumentError('scope', spec.scope, 'universe, link, host');
  } else if (forDelete) scope = RT_SCOPE.NOWHERE;
  else if (typeName === 'local') scope = RT_SCOPE.HOST;
  else if (typeName === 'unicast' && gw === undefined && family === 4) scope = RT_SCOPE.LINK;
  else scope = RT_SCOPE.UNIVERSE;
  return {
    family: afOf(family),
    dstLen: dst?.prefixLen ?? 0,
    table,
    // iproute2 sends protocol "boot" and type unicast on add, and leaves both open on delete.
    protocol: forDelete ? RTPROT.UNSPEC : RTPROT.BOOT,
    scope,
    type: forDelete && spec.type === undefined ? 0 : type,
    ...(dst === undefined ? {} : { dst: maskNetwork(dst) }),
    ...(gw === undefined ? {} : { gateway: gw.bytes }),
    ...(oif === undefined ? {} : { oif }),
    ...(spec.metric === undefined ? {} : { priority: validateU32(spec.metric, 'metric') }),
    ...(src === undefined ? {} : { prefsrc: src.bytes }),
    ...(spec.onLink === true ? { flags: RTNH_F_ONLINK } : {}),
  };
}
