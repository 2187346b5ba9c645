// What the plugin's own nf_tables table holds, computed from the state recorded in OVS (pure). The table
// is `inet ocn-<prefix>` with nat chains at the dstnat/srcnat priorities (as Docker's iptables rules):
//   prerouting  published ports, for traffic from other hosts and from containers: `fib daddr type local`
//               (or the given host address) + dport → dnat to the container
//   output      the same for connections the host itself opens, except to loopback (the proxy serves those)
//   postrouting hairpin: DNATed traffic from the container's own network back into it is masqueraded, so the
//               answer comes back through the host (OVS switches it directly otherwise); outbound: the
//               network's subnet leaving through any other interface is masqueraded (Docker's MASQUERADE)
// and, in `ip filter` DOCKER-USER (only when dockerd made that chain), accepts for the gateway ports: see
// dockerUserRules.
import { parseCidr } from '@ovs-container-network/netlink';
import { type Expr, type FirewallRule, match, stmt } from '@ovs-container-network/netlink/nftables';
import type { PortBinding } from './portmap.js';

type Family = 4 | 6;

export interface NsNetwork {
  id: string;
  gatewayPort: string;
  /** The subnets (CIDR) routed through the gateway port. */
  subnets: { family: Family; pool: string }[];
  masquerade: boolean;
}

export interface NsEndpoint {
  id: string;
  network: NsNetwork;
  ipv4?: string | undefined;
  ipv6?: string | undefined;
  bindings: PortBinding[];
  /**
   * DNAT to the same host port on `ipv4`/`ipv6` instead of the container port (OVN mode: the address is a
   * gateway router's, whose load balancer maps that host port to the container).
   */
  viaHostPort?: boolean;
}

/** Which families the kernel forwards (DNAT to a container needs it; else the proxy serves that family). */
export interface Forwarding {
  4: boolean;
  6: boolean;
}

const familyOf = (ip: string): Family => (ip.includes(':') ? 6 : 4);
const bare = (cidr: string) => cidr.replace(/\/\d+$/, '');
const isUnspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';
const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.');
const hostPrefix = (ip: string) => `${ip}/${familyOf(ip) === 4 ? 32 : 128}`;

/** "10.1.2.3" or "10.1.0.0/16" as the Cidr the match builders take (netlink's parser and checks). */
const cidr = (text: string) => parseCidr(text, 'address', false);

/** The (family, container address) pairs a binding is published for. */
export function bindingTargets(
  b: PortBinding,
  ep: { ipv4?: string | undefined; ipv6?: string | undefined },
): { family: Family; target: string; listenIp: string }[] {
  const out: { family: Family; target: string; listenIp: string }[] = [];
  for (const [family, addr] of [
    [4, ep.ipv4],
    [6, ep.ipv6],
  ] as const) {
    if (!addr) continue;
    if (b.hostIp !== '' && familyOf(b.hostIp) !== family) continue;
    out.push({ family, target: bare(addr), listenIp: b.hostIp || (family === 4 ? '0.0.0.0' : '::') });
  }
  return out;
}

function comment(ep: NsEndpoint | NsNetwork): string {
  return `ocn ${'network' in ep ? 'ep' : 'net'} ${ep.id.slice(0, 12)}`;
}

/** Every rule of our table for this state. */
export function tableRules(
  networks: readonly NsNetwork[],
  endpoints: readonly NsEndpoint[],
  fwd: Forwarding,
): FirewallRule[] {
  const rules: FirewallRule[] = [];
  const loopback = { 4: cidr('127.0.0.0/8'), 6: cidr('::1/128') };
  for (const ep of endpoints) {
    const c = comment(ep);
    for (const b of ep.bindings) {
      for (const { family, target } of bindingTargets(b, ep)) {
        if (!fwd[family]) continue;
        if (b.hostIp !== '' && isLoopback(b.hostIp)) continue; // the proxy alone serves loopback
        const dst =
          b.hostIp === '' || isUnspecified(b.hostIp)
            ? match.fibDaddrLocal()
            : match.addr('daddr', cidr(hostPrefix(b.hostIp)));
        const dnat = [
          ...match.l4proto(b.proto),
          ...match.port('dport', b.hostPort),
          stmt.counter(),
          ...stmt.nat('dnat', { address: cidr(target).bytes, port: ep.viaHostPort ? b.hostPort : b.port }),
        ];
        rules.push({
          chain: 'prerouting',
          comment: c,
          expressions: [...match.nfproto(family), ...dst, ...dnat],
        });
        rules.push({
          chain: 'output',
          comment: c,
          expressions: [
            ...match.nfproto(family),
            ...match.addr('daddr', loopback[family], true),
            ...dst,
            ...dnat,
          ],
        });
        const sub = ep.network.subnets.find((s) => s.family === family);
        if (sub) {
          rules.push({
            chain: 'postrouting',
            comment: c,
            expressions: [
              ...match.ctStatus(['dnat']),
              ...match.nfproto(family),
              ...match.addr('saddr', cidr(sub.pool)),
              ...match.addr('daddr', cidr(hostPrefix(target))),
              ...match.l4proto(b.proto),
              ...match.port('dport', ep.viaHostPort ? b.hostPort : b.port),
              ...stmt.masquerade(),
            ],
          });
        }
      }
    }
  }
  for (const n of networks) {
    if (!n.masquerade) continue;
    for (const s of n.subnets) {
      rules.push({
        chain: 'postrouting',
        comment: comment(n),
        expressions: [
          ...match.nfproto(s.family),
          ...match.addr('saddr', cidr(s.pool)),
          ...match.ifname('oifname', n.gatewayPort, true),
          ...stmt.masquerade(),
        ],
      });
    }
  }
  return rules;
}

/**
 * DOCKER-USER rules (iptables-nft's `ip filter` / `ip6 filter` tables): `-s SUBNET -j ACCEPT` and
 * `-d SUBNET -j ACCEPT` per subnet of a network with a gateway, each with the comment `ocn-<prefix>`. By
 * address, not by interface: with the userspace datapath the host end of a container's veth is an
 * ordinary host interface too, and a container that learned the gateway's address from it (the host
 * answers ARP for any local address on any interface) sends routed traffic in through it rather than
 * through the gateway port. Only expressions iptables-nft parses back (payload + cmp as it writes `-s`,
 * an immediate accept, the comment as rule userdata), so `iptables -S` and dockerd keep working on that
 * table.
 */
export function dockerUserRules(networks: readonly NsNetwork[], family: Family): { expressions: Expr[] }[] {
  const out: { expressions: Expr[] }[] = [];
  for (const n of networks) {
    for (const s of n.subnets) {
      if (s.family !== family) continue;
      for (const dir of ['saddr', 'daddr'] as const)
        out.push({ expressions: [...match.addr(dir, cidr(s.pool)), stmt.counter(), stmt.accept()] });
    }
  }
  return out;
}
