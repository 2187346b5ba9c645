// The interface-name rule for every layer of the plugin (network options, records read from OVS, the
// Orchestrator's requests). The rule itself is netlink's isValidIfname (the kernel's dev_valid_name(): 1 to
// IFNAMSIZ-1 = 15 bytes, not "." or "..", no '/', ':', whitespace or control characters); this module adds
// the plugin's words and the names a network must not take. Each rule returns what is allowed when a value
// breaks it, so every caller throws its own error type with the same words.
import { IFNAME_MAX_BYTES, isValidIfname } from '@ovs-container-network/netlink';

export const IFNAMSIZ_MAX = IFNAME_MAX_BYTES;

export const IFNAME_ALLOWED = 'an interface name of 1 to 15 bytes without "/", ":" or whitespace';

/**
 * Names a network must never put on an OVS bridge: the loopback device, and the datapath devices OVS itself
 * owns (`ovs-system` for the kernel datapath, `ovs-netdev` for the userspace one; ovs-vswitchd(8)).
 */
export const RESERVED_IFNAMES: ReadonlySet<string> = new Set(['lo', 'ovs-system', 'ovs-netdev']);

/** undefined when `value` is a valid interface name, else what is allowed. */
export function ifNameProblem(value: unknown): string | undefined {
  return isValidIfname(value) ? undefined : IFNAME_ALLOWED;
}

/** A host interface a network may use as its bridge or uplink: a valid name that is not reserved. */
export function hostIfNameProblem(value: unknown): string | undefined {
  const p = ifNameProblem(value);
  if (p) return p;
  if (RESERVED_IFNAMES.has(value as string))
    return `${IFNAME_ALLOWED}, other than ${[...RESERVED_IFNAMES].join(', ')} (the loopback and OVS datapath devices)`;
  return undefined;
}

export function isValidIfName(name: unknown): name is string {
  return ifNameProblem(name) === undefined;
}
