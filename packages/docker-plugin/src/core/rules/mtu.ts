// The MTU rule. Limits are what the devices the core creates accept (RTM_SETLINK fails with EINVAL
// outside [min_mtu, max_mtu] of the device, net/core/dev.c dev_validate_mtu):
//   veth (drivers/net/veth.c)                       max_mtu = ETH_MAX_MTU = 65535
//   OVS internal port, kernel datapath              max_mtu = ETH_MAX_MTU - ETH_HLEN = 65521
//     (net/openvswitch/vport-internal_dev.c)
//   OVS internal port, userspace datapath: a tap    max_mtu = MAX_MTU - ETH_HLEN = 65521 (drivers/net/tun.c)
// A network with a gateway port must fit the smaller; 68 is IPv4's minimum (RFC 791), 1280 IPv6's (RFC 8200 §5).

import { MTU_MAX, MTU_MIN } from '@ovs-container-network/netlink';

export { MTU_MIN };
export const IPV6_MTU_MIN = 1280;
export const VETH_MTU_MAX = MTU_MAX;
export const INTERNAL_PORT_MTU_MAX = 65521;

export interface MtuContext {
  /** The MTU is also set on an OVS internal port (a network's gateway port). */
  internalPort?: boolean;
  /** The network carries IPv6. */
  ipv6?: boolean;
}

export function mtuRange(ctx: MtuContext = {}): { min: number; max: number } {
  return {
    min: ctx.ipv6 ? IPV6_MTU_MIN : MTU_MIN,
    max: ctx.internalPort ? INTERNAL_PORT_MTU_MAX : VETH_MTU_MAX,
  };
}

/** undefined when `value` is an integer MTU the devices accept, else what is allowed. */
export function mtuProblem(value: unknown, ctx: MtuContext = {}): string | undefined {
  const { min, max } = mtuRange(ctx);
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  const why = [
    ctx.ipv6 ? 'at least 1280 on IPv6 (RFC 8200 §5)' : '',
    ctx.internalPort
      ? 'at most 65521 with a gateway port (an OVS internal port: 65535 less the Ethernet header)'
      : '',
  ].filter(Boolean);
  return `an MTU: an integer from ${min} to ${max}${why.length ? ` (${why.join('; ')})` : ''}`;
}
