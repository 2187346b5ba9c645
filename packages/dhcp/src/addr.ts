// IPv4 and MAC text <-> bytes for this package. The rules themselves live in @ovs-container-network/netlink
// (parseIp, parseMac); this module only rethrows their errors as this package's own class.
import {
  formatIp,
  formatMac,
  NetlinkInvalidArgumentError,
  parseIp,
  parseMac,
} from '@ovs-container-network/netlink';
import { DhcpInvalidArgumentError } from './errors.js';

export const ZERO_IP = '0.0.0.0';
export const BROADCAST_IP = '255.255.255.255';
export const BROADCAST_MAC = Buffer.alloc(6, 0xff);

/** Dotted-quad IPv4 text to 4 bytes; anything else throws a field-naming error. */
export function ipv4Bytes(text: unknown, field: string): Buffer {
  let ip: ReturnType<typeof parseIp>;
  try {
    ip = parseIp(text, field);
  } catch (err) {
    throw rethrow(err, field, text, 'an IPv4 address in dotted-quad notation');
  }
  if (ip.family !== 4) throw new DhcpInvalidArgumentError(field, text, 'an IPv4 address (DHCPv4)');
  return ip.bytes;
}

export function formatIpv4(b: Uint8Array, offset = 0): string {
  return formatIp(b.subarray(offset, offset + 4));
}

/** A unicast MAC `aa:bb:cc:dd:ee:ff` to 6 bytes. */
export function macBytes(text: unknown, field = 'mac'): Buffer {
  try {
    return parseMac(text, field);
  } catch (err) {
    throw rethrow(err, field, text, "a unicast MAC 'aa:bb:cc:dd:ee:ff'");
  }
}

export { formatMac };

function rethrow(err: unknown, field: string, value: unknown, allowed: string): unknown {
  if (err instanceof NetlinkInvalidArgumentError) {
    return new DhcpInvalidArgumentError(field, value, err.allowed, { cause: err });
  }
  if (err instanceof Error) return new DhcpInvalidArgumentError(field, value, allowed, { cause: err });
  return err;
}
