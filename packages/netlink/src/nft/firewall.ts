// The small high-level API the Docker plugin programs its north-south rules with: a table of its own
// (`inet ocn-<prefix>`) with four base chains, published ports (DNAT), masquerade and forward accepts.
// The rule builders are pure and validate their input (errors name the field, the value and what is
// allowed); NftFirewall does the I/O, one atomic batch per call.
import { NetlinkError, NetlinkInvalidArgumentError } from '../errors.js';
import { type Cidr, type Family, parseCidr, parseIp } from '../ip.js';
import { validateIfname } from '../validate.js';
import { NftBatch, validateComment, validateHandle, validateNftName } from './batch.js';
import { CT_STATE, CT_STATUS, type CtState, type CtStatus, match, stmt } from './build.js';
import type { Expr } from './expr.js';
import { NftBatchError, type NftHandle } from './handle.js';
import { NFT_PRIORITY, type NftBaseChainSpec, type NftRule } from './wire.js';

/** The base chains of our table and how they hook in (priorities as Docker's iptables rules and nft's names). */
export const FIREWALL_CHAINS = {
  prerouting: { type: 'nat', hook: 'prerouting', priority: NFT_PRIORITY.dstnat, policy: 'accept' },
  output: { type: 'nat', hook: 'output', priority: NFT_PRIORITY.dstnat, policy: 'accept' },
  postrouting: { type: 'nat', hook: 'postrouting', priority: NFT_PRIORITY.srcnat, policy: 'accept' },
  forward: { type: 'filter', hook: 'forward', priority: NFT_PRIORITY.filter, policy: 'accept' },
} as const satisfies Record<string, NftBaseChainSpec>;
export type FirewallChain = keyof typeof FIREWALL_CHAINS;

/** A rule for one of our chains, built by the functions below (data, not yet sent). */
export interface FirewallRule {
  chain: FirewallChain;
  expressions: Expr[];
  comment?: string | undefined;
}

/** A rule the kernel holds: where it is and its handle (stable for the rule's life). */
export interface FirewallRuleRef {
  chain: FirewallChain;
  handle: number;
  comment?: string | undefined;
}

export type PortSpec = number | readonly [number, number];

export interface PublishedPortSpec {
  proto: 'tcp' | 'udp';
  /** The host address to listen on; absent, `0.0.0.0` or `::` means every local address of `family`. */
  hostIp?: string | undefined;
  /** Needed when `hostIp` is absent or unspecified; otherwise taken from the addresses. */
  family?: Family | undefined;
  /** A port or an inclusive range `[from, to]`. */
  hostPort: PortSpec;
  containerIp: string;
  /** Default: the host port(s). A range must be as long as the host range (mapped port by port). */
  containerPort?: PortSpec | undefined;
  /** Where the DNAT goes: `prerouting` (from outside and containers), `output` (from the host). Both by default. */
  chains?: readonly ('prerouting' | 'output')[] | undefined;
  /** Also accept the DNATed traffic in our forward chain (`ct status dnat ip daddr C dport P accept`). Default true. */
  forward?: boolean | undefined;
  /** Masquerade the container's connections to its own published port (hairpin). Default true. */
  hairpin?: boolean | undefined;
  comment?: string | undefined;
}

/** How many rules one published range may expand to (one DNAT per port when ranges map port by port). */
export const MAX_RANGE_RULES = 1024;

function validatePort(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new NetlinkInvalidArgumentError(field, v, 'a port 1..65535');
  }
  return v;
}

function validatePortSpec(v: unknown, field: string): [number, number] {
  if (typeof v === 'number') {
    const p = validatePort(v, field);
    return [p, p];
  }
  if (Array.isArray(v) && v.length === 2) {
    const a = validatePort(v[0], `${field}[0]`);
    const b = validatePort(v[1], `${field}[1]`);
    if (a > b) throw new NetlinkInvalidArgumentError(field, v, 'a range [from, to] with from <= to');
    return [a, b];
  }
  throw new NetlinkInvalidArgumentError(field, v, 'a port 1..65535 or a range [from, to]');
}

function checkFamily(v: unknown, field: string): Family {
  if (v !== 4 && v !== 6) throw new NetlinkInvalidArgumentError(field, v, '4 or 6');
  return v;
}

const portValue = (r: [number, number]): PortSpec => (r[0] === r[1] ? r[0] : r);

/**
 * DNAT rules for one published port (or range), like Docker's bridge driver: in prerouting and output,
 * `meta nfproto ipv4 (ip daddr H | fib daddr type local) meta l4proto tcp tcp dport P counter dnat ip to
 * C:Q`; in postrouting the hairpin masquerade `ip saddr C ip daddr C tcp dport Q masquerade`; in forward
 * `ct status dnat meta nfproto ipv4 ip daddr C meta l4proto tcp tcp dport Q accept`.
 * A host range onto a single container port is one rule; a range onto an equally long range becomes one
 * rule per port (Docker also maps port by port), in the same batch.
 */
export function publishedPortRules(spec: PublishedPortSpec): FirewallRule[] {
  if (typeof spec !== 'object' || spec === null) {
    throw new NetlinkInvalidArgumentError(
      'port',
      spec,
      '{proto, hostIp?, family?, hostPort, containerIp, containerPort?}',
    );
  }
  if (spec.proto !== 'tcp' && spec.proto !== 'udp')
    throw new NetlinkInvalidArgumentError('proto', spec.proto, 'tcp or udp');
  const container = parseIp(spec.containerIp, 'containerIp');
  const hostAny = spec.hostIp === undefined || spec.hostIp === '0.0.0.0' || spec.hostIp === '::';
  const host = hostAny ? undefined : parseIp(spec.hostIp, 'hostIp');
  let family: Family = container.family;
  if (spec.family !== undefined) family = checkFamily(spec.family, 'family');
  if (spec.hostIp === '0.0.0.0' && family !== 4)
    throw new NetlinkInvalidArgumentError(
      'hostIp',
      spec.hostIp,
      'an address of the same family as containerIp',
    );
  if (spec.hostIp === '::' && family !== 6)
    throw new NetlinkInvalidArgumentError(
      'hostIp',
      spec.hostIp,
      'an address of the same family as containerIp',
    );
  if (container.family !== family) {
    throw new NetlinkInvalidArgumentError(
      'containerIp',
      spec.containerIp,
      `an IPv${family} address (family ${family})`,
    );
  }
  if (host !== undefined && host.family !== family) {
    throw new NetlinkInvalidArgumentError('hostIp', spec.hostIp, `an IPv${family} address, like containerIp`);
  }
  const hostPorts = validatePortSpec(spec.hostPort, 'hostPort');
  const ctPorts =
    spec.containerPort === undefined ? hostPorts : validatePortSpec(spec.containerPort, 'containerPort');
  const hostLen = hostPorts[1] - hostPorts[0];
  const ctLen = ctPorts[1] - ctPorts[0];
  if (ctLen !== 0 && ctLen !== hostLen) {
    throw new NetlinkInvalidArgumentError(
      'containerPort',
      spec.containerPort,
      `a single port or a range as long as hostPort (${hostLen + 1} ports)`,
    );
  }
  if (ctLen !== 0 && hostLen + 1 > MAX_RANGE_RULES) {
    throw new NetlinkInvalidArgumentError(
      'hostPort',
      spec.hostPort,
      `a range of at most ${MAX_RANGE_RULES} ports when mapped onto a range`,
    );
  }
  const chains = spec.chains ?? ['prerouting', 'output'];
  if (!Array.isArray(chains) || chains.some((c) => c !== 'prerouting' && c !== 'output')) {
    throw new NetlinkInvalidArgumentError('chains', chains, "a list of 'prerouting' and 'output'");
  }
  const comment = validateComment(spec.comment);
  const full = (ip: { family: Family; bytes: Buffer }): Cidr => ({
    ...ip,
    prefixLen: ip.family === 4 ? 32 : 128,
  });
  // Pairs of (host ports matched, container port(s) translated to).
  const pairs: [[number, number], [number, number]][] =
    ctLen === 0
      ? [[hostPorts, ctPorts]]
      : Array.from({ length: hostLen + 1 }, (_, i) => [
          [hostPorts[0] + i, hostPorts[0] + i],
          [ctPorts[0] + i, ctPorts[0] + i],
        ]);
  const rules: FirewallRule[] = [];
  for (const chain of chains) {
    for (const [hp, cp] of pairs) {
      rules.push({
        chain,
        comment,
        expressions: [
          ...match.nfproto(family),
          ...(host === undefined ? match.fibDaddrLocal() : match.addr('daddr', full(host))),
          ...match.l4proto(spec.proto),
          ...match.port('dport', portValue(hp)),
          stmt.counter(),
          ...stmt.nat('dnat', { address: container.bytes, port: portValue(cp) }),
        ],
      });
    }
  }
  if (spec.hairpin !== false) {
    // A container reaching its own published port through the host: DNAT sends the packet back to where
    // it came from with its own source, so the answer would bypass the NAT. Docker masquerades exactly
    // this case (`-s C -d C -p tcp --dport Q -j MASQUERADE`).
    rules.push({
      chain: 'postrouting',
      comment,
      expressions: [
        ...match.nfproto(family),
        ...match.addr('saddr', full(container)),
        ...match.addr('daddr', full(container)),
        ...match.l4proto(spec.proto),
        ...match.port('dport', portValue(ctPorts)),
        ...stmt.masquerade(),
      ],
    });
  }
  if (spec.forward !== false) {
    rules.push({
      chain: 'forward',
      comment,
      expressions: [
        ...match.ctStatus(['dnat']),
        ...match.nfproto(family),
        ...match.addr('daddr', full(container)),
        ...match.l4proto(spec.proto),
        ...match.port('dport', portValue(ctPorts)),
        stmt.accept(),
      ],
    });
  }
  return rules;
}

export interface MasqueradeSpec {
  /** The containers' network, `10.0.0.0/24` or `fd00::/64`. */
  source: string;
  /** Not when leaving through these interfaces (the network's own bridge / gateway port). */
  notOutInterfaces?: readonly string[] | undefined;
  /**
   * Only when leaving through this interface: with `source: '127.0.0.0/8'`, what lets the host reach a
   * published port on 127.0.0.1 (DNAT in output, then this; the interface needs route_localnet=1).
   */
  outInterface?: string | undefined;
  comment?: string | undefined;
}

/** `meta nfproto ipv4 ip saddr S oifname != "br" masquerade` in postrouting (Docker's MASQUERADE rule). */
export function masqueradeRule(spec: MasqueradeSpec): FirewallRule {
  if (typeof spec !== 'object' || spec === null)
    throw new NetlinkInvalidArgumentError('masquerade', spec, '{source, notOutInterfaces?}');
  const src = parseCidr(spec.source, 'source');
  const outs = spec.notOutInterfaces ?? [];
  if (!Array.isArray(outs))
    throw new NetlinkInvalidArgumentError('notOutInterfaces', outs, 'a list of interface names');
  const names = outs.map((n, i) => validateIfname(n, `notOutInterfaces[${i}]`));
  const out = spec.outInterface === undefined ? undefined : validateIfname(spec.outInterface, 'outInterface');
  return {
    chain: 'postrouting',
    comment: validateComment(spec.comment),
    expressions: [
      ...match.nfproto(src.family),
      ...match.addr('saddr', src),
      ...(out === undefined ? [] : match.ifname('oifname', out)),
      ...names.flatMap((n) => match.ifname('oifname', n, true)),
      ...stmt.masquerade(),
    ],
  };
}

export interface ForwardAcceptSpec {
  family?: Family | undefined;
  iifname?: string | undefined;
  oifname?: string | undefined;
  /** Accept unless leaving through this interface. */
  notOifname?: string | undefined;
  saddr?: string | undefined;
  daddr?: string | undefined;
  proto?: 'tcp' | 'udp' | undefined;
  dport?: PortSpec | undefined;
  ctState?: readonly CtState[] | undefined;
  ctStatus?: readonly CtStatus[] | undefined;
  comment?: string | undefined;
}

/** An accept rule for routed traffic in our forward chain, from the matches given (all must hold). */
export function forwardAcceptRule(spec: ForwardAcceptSpec): FirewallRule {
  if (typeof spec !== 'object' || spec === null)
    throw new NetlinkInvalidArgumentError(
      'forward',
      spec,
      '{iifname?, oifname?, saddr?, daddr?, proto?, dport?, ctState?, …}',
    );
  const ex: Expr[] = [];
  if (spec.ctState !== undefined) {
    if (
      !Array.isArray(spec.ctState) ||
      spec.ctState.length === 0 ||
      spec.ctState.some((s) => !(s in CT_STATE))
    ) {
      throw new NetlinkInvalidArgumentError('ctState', spec.ctState, Object.keys(CT_STATE).join(', '));
    }
    ex.push(...match.ctState(spec.ctState));
  }
  if (spec.ctStatus !== undefined) {
    if (
      !Array.isArray(spec.ctStatus) ||
      spec.ctStatus.length === 0 ||
      spec.ctStatus.some((s) => !(s in CT_STATUS))
    ) {
      throw new NetlinkInvalidArgumentError('ctStatus', spec.ctStatus, Object.keys(CT_STATUS).join(', '));
    }
    ex.push(...match.ctStatus(spec.ctStatus));
  }
  if (spec.iifname !== undefined)
    ex.push(...match.ifname('iifname', validateIfname(spec.iifname, 'iifname')));
  if (spec.oifname !== undefined)
    ex.push(...match.ifname('oifname', validateIfname(spec.oifname, 'oifname')));
  if (spec.notOifname !== undefined)
    ex.push(...match.ifname('oifname', validateIfname(spec.notOifname, 'notOifname'), true));
  const saddr = spec.saddr === undefined ? undefined : parseCidr(spec.saddr, 'saddr', false);
  const daddr = spec.daddr === undefined ? undefined : parseCidr(spec.daddr, 'daddr', false);
  let family = spec.family === undefined ? undefined : checkFamily(spec.family, 'family');
  for (const [field, c] of [
    ['saddr', saddr],
    ['daddr', daddr],
  ] as const) {
    if (c === undefined) continue;
    if (family !== undefined && c.family !== family)
      throw new NetlinkInvalidArgumentError(field, spec[field], `an IPv${family} address or network`);
    family = c.family;
  }
  if (family !== undefined) ex.push(...match.nfproto(family));
  if (saddr !== undefined) ex.push(...match.addr('saddr', saddr));
  if (daddr !== undefined) ex.push(...match.addr('daddr', daddr));
  if (spec.dport !== undefined && spec.proto === undefined)
    throw new NetlinkInvalidArgumentError('proto', spec.proto, "'tcp' or 'udp' (required with dport)");
  if (spec.proto !== undefined) {
    if (spec.proto !== 'tcp' && spec.proto !== 'udp')
      throw new NetlinkInvalidArgumentError('proto', spec.proto, 'tcp or udp');
    ex.push(...match.l4proto(spec.proto));
    if (spec.dport !== undefined)
      ex.push(...match.port('dport', portValue(validatePortSpec(spec.dport, 'dport'))));
  }
  ex.push(stmt.accept());
  return { chain: 'forward', comment: validateComment(spec.comment), expressions: ex };
}

/**
 * Our own table in one namespace: `inet <name>` with the chains of {@link FIREWALL_CHAINS}. Every method
 * is one batch, so it happens entirely or not at all.
 */
export class NftFirewall {
  readonly table: string;
  readonly #h: NftHandle;

  constructor(handle: NftHandle, options: { table: string }) {
    this.#h = handle;
    this.table = validateNftName(options?.table, 'table');
  }

  /** `ocn-<prefix>`: the table name for a plugin instance's prefix. */
  static tableName(prefix: string): string {
    return validateNftName(`ocn-${prefix}`, 'prefix');
  }

  /** Creates the table and base chains, or leaves them as they are (idempotent). */
  async ensure(): Promise<void> {
    const b = new NftBatch().addTable({ family: 'inet', name: this.table });
    for (const [name, base] of Object.entries(FIREWALL_CHAINS))
      b.addChain({ family: 'inet', table: this.table, name, base });
    await this.#h.commit(b);
  }

  /** Adds rules (built by the functions above) in one batch; returns their handles, in order. */
  async add(rules: readonly FirewallRule[]): Promise<FirewallRuleRef[]> {
    const b = new NftBatch();
    for (const [i, r] of rules.entries()) {
      if (!(r?.chain in FIREWALL_CHAINS))
        throw new NetlinkInvalidArgumentError(
          `rules[${i}].chain`,
          r?.chain,
          Object.keys(FIREWALL_CHAINS).join(', '),
        );
      b.addRule({
        family: 'inet',
        table: this.table,
        chain: r.chain,
        expressions: r.expressions,
        comment: r.comment,
      });
    }
    if (b.length === 0) return [];
    const { handles } = await this.#h.commit(b);
    return rules.map((r, i) => {
      const handle = handles[i];
      if (handle === undefined) {
        throw new NetlinkError(
          'NETLINK_ERR_PROTOCOL',
          `add: the kernel did not echo the handle of rule ${i} (${r.chain})`,
        );
      }
      return { chain: r.chain, handle, comment: r.comment };
    });
  }

  /** Deletes rules by handle in one batch (ENOENT for one that is gone, and then none is deleted). */
  async delete(refs: readonly FirewallRuleRef[]): Promise<void> {
    const b = new NftBatch();
    for (const [i, r] of refs.entries()) {
      if (!(r?.chain in FIREWALL_CHAINS))
        throw new NetlinkInvalidArgumentError(
          `refs[${i}].chain`,
          r?.chain,
          Object.keys(FIREWALL_CHAINS).join(', '),
        );
      b.deleteRule({
        family: 'inet',
        table: this.table,
        chain: r.chain,
        handle: validateHandle(r.handle, `refs[${i}].handle`),
      });
    }
    if (b.length > 0) await this.#h.commit(b);
  }

  /** The rules of our table (with handles and comments), e.g. to rebuild state after a restart. */
  async list(): Promise<(FirewallRuleRef & { rule: NftRule })[]> {
    const rules = await this.#h.listRules('inet', { table: this.table }).catch((err: unknown) => {
      if (err instanceof Error && 'errno' in err && err.errno === 'ENOENT') return [];
      throw err;
    });
    return rules
      .filter((r) => r.chain in FIREWALL_CHAINS && r.handle !== undefined)
      .map((r) => ({
        chain: r.chain as FirewallChain,
        handle: r.handle as number,
        comment: r.comment,
        rule: r,
      }));
  }

  /** Deletes the whole table (every chain and rule in it). A missing table is fine unless `missingOk: false`. */
  async destroy(options: { missingOk?: boolean } = {}): Promise<void> {
    try {
      await this.#h.commit(new NftBatch().deleteTable({ family: 'inet', name: this.table }));
    } catch (err) {
      if (options.missingOk !== false && err instanceof NftBatchError && err.errno === 'ENOENT') return;
      throw err;
    }
  }
}
