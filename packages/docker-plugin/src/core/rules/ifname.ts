// The interface-name rule, in one place for every layer (network options, records read from OVS, the
// Orchestrator's requests). The kernel's dev_valid_name() (net/core/dev.c): 1 to IFNAMSIZ-1 = 15 bytes,
// not "." or "..", no '/', ':' or whitespace. Each rule returns what is allowed when a value breaks it, so
// every caller throws its own error type with the same words.

export const IFNAMSIZ_MAX = 15;

export const IFNAME_ALLOWED = 'an interface name of 1 to 15 bytes without "/", ":" or whitespace';

/**
 * Names a network must never put on an OVS bridge: the loopback device, and the datapath devices OVS itself
 * owns (`ovs-system` for the kernel datapath, `ovs-netdev` for the userspace one; ovs-vswitchd(8)).
 */
export const RESERVED_IFNAMES: ReadonlySet<string> = new Set(['lo', 'ovs-system', 'ovs-netdev']);

/** undefined when `value` is a valid interface name, else what is allowed. */
export function ifNameProblem(value: unknown): string | undefined {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    Buffer.byteLength(value) > IFNAMSIZ_MAX ||
    value === '.' ||
    value === '..' ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and control characters are refused too
    /[/:\s\u0000-\u001f\u007f]/.test(value)
  )
    return IFNAME_ALLOWED;
  return undefined;
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
