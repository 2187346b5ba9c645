// The MAC-address rule for every layer of the plugin (CreateEndpoint's MacAddress and mac option, the
// Orchestrator's `mac`). The rule is netlink's macDefect (six hex octets, unicast, not all zero); this module
// gives the plugin's words and the canonical text (lower case, ':'-separated) that is recorded in OVS.
import { macDefect } from '@ovs-container-network/netlink';

export const MAC_ALLOWED = 'a MAC address like 02:42:ac:11:00:02';

/** undefined when `value` is a unicast, non-zero MAC address (':' or '-' separated), else what is allowed. */
export function macProblem(value: unknown): string | undefined {
  switch (macDefect(typeof value === 'string' ? value.trim() : value)) {
    case undefined:
      return undefined;
    case 'multicast':
      return 'a unicast MAC address (the first octet must be even)';
    case 'zero':
      return 'a non-zero MAC address';
    default:
      return MAC_ALLOWED;
  }
}

/** The canonical text of a MAC that passed macProblem: trimmed, lower case, ':'-separated. */
export function canonicalMac(value: string): string {
  return value.trim().toLowerCase().replaceAll('-', ':');
}
