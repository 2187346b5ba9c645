// The subnet/gateway rule for a network (CreateNetwork's IPvXData and the record kept in OVS): a pool is a
// canonical CIDR; its gateway, in CIDR form as Docker sends it, is a host address INSIDE the pool with the
// pool's own prefix length. A gateway with another length would give the gateway port a route to a
// different (e.g. much larger) subnet.
import { parseCidr, parseIp } from './cidr.js';

/** The canonical pool text, or what is allowed. */
export function poolProblem(value: unknown, v6?: boolean): string | undefined {
  const allowed = `a subnet in CIDR form such as ${v6 ? 'fd00::/64' : '10.1.0.0/24'}`;
  if (typeof value !== 'string') return allowed;
  try {
    const c = parseCidr('pool', value, v6);
    return c.text === value.trim() ? undefined : `${allowed}, with the host bits zero (${c.text})`;
  } catch {
    return allowed;
  }
}

/** undefined when `gateway` ("ip/len") is a host address of `pool` with its prefix length. */
export function gatewayProblem(pool: string, gateway: unknown): string | undefined {
  const c = parseCidr('pool', pool);
  const len = pool.split('/')[1];
  const allowed = `an address inside ${c.text} written ADDRESS/${len}`;
  if (typeof gateway !== 'string') return allowed;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(gateway);
  if (!m?.[1] || m[2] !== String(c.prefix)) return allowed;
  let v: bigint;
  try {
    v = parseIp('gateway', m[1], c.v6);
  } catch {
    return allowed;
  }
  if (v < c.base || v >= c.base + c.size) return allowed;
  const lastV4 = c.base + c.size - 1n;
  if (!c.v6 && c.size > 2n && (v === c.base || v === lastV4))
    return `${allowed}, not the network or broadcast address`;
  return undefined;
}
