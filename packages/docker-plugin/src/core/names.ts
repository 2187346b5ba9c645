// Names of the kernel and OVS objects the driver creates. Interface names are at most 15 bytes (IFNAMSIZ
// is 16 with the NUL, include/uapi/linux/if.h). Docker endpoint and network ids are 64 hex characters that
// may share long prefixes in tests and tools, so names hash the WHOLE id instead of truncating it.
import { createHash } from 'node:crypto';
import { InvalidOptionError } from './errors.js';
import { IFNAMSIZ_MAX } from './rules/ifname.js';
import { canonicalMac, macProblem } from './rules/mac.js';

export { IFNAMSIZ_MAX, isValidIfName } from './rules/ifname.js';
/** Default prefix of every interface the driver creates (`--prefix`); tests use `ocnt`. */
export const DEFAULT_PREFIX = 'ocn';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `len` lowercase base32 characters of SHA-256(`input`), after mixing in `salt` (for collision retries). */
export function hashName(input: string, len: number, salt = 0): string {
  const h = createHash('sha256')
    .update(salt === 0 ? input : `${input}#${salt}`)
    .digest();
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const byte of h) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < len) {
      out += BASE32[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= len) break;
  }
  return out;
}

export function validatePrefix(prefix: string): string {
  if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix)) {
    throw new InvalidOptionError(
      'prefix',
      prefix,
      '1 to 6 lowercase letters or digits, starting with a letter',
    );
  }
  return prefix;
}

export interface VethNames {
  /** The end that stays in the host namespace and is added to the OVS bridge. */
  host: string;
  /** The end Docker moves into the container (Join's `SrcName`) or the orchestrator moves itself. */
  container: string;
}

/**
 * Both veth names for an endpoint: `<prefix>h<hash>` and `<prefix>c<hash>`, 15 bytes, with the hash over the
 * whole endpoint id. `salt` > 0 gives the alternative names tried after a collision.
 */
export function vethNames(endpointId: string, prefix = DEFAULT_PREFIX, salt = 0): VethNames {
  const room = IFNAMSIZ_MAX - prefix.length - 1;
  const h = hashName(endpointId, room, salt);
  return { host: `${prefix}h${h}`, container: `${prefix}c${h}` };
}

/** The OVS internal port holding a network's gateway addresses: `<prefix>g<hash of network id>`. */
export function gatewayPortName(networkId: string, prefix = DEFAULT_PREFIX): string {
  return `${prefix}g${hashName(networkId, IFNAMSIZ_MAX - prefix.length - 1)}`;
}

/**
 * A MAC address for an endpoint that has none: locally administered, unicast (first octet 0x02), the other
 * five octets from SHA-256 of the endpoint id, so a retried CreateEndpoint gets the same address.
 */
export function generateMac(endpointId: string): string {
  const h = createHash('sha256').update(`mac:${endpointId}`).digest();
  const bytes = [0x02, h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0, h[4] ?? 0];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-cased `aa:bb:cc:dd:ee:ff` (rules/mac.ts); throws InvalidOptionError for anything else. */
export function normalizeMac(field: string, mac: string): string {
  const problem = macProblem(mac);
  if (problem) throw new InvalidOptionError(field, mac, problem);
  return canonicalMac(mac);
}

/**
 * Docker 20.10 sends `--mac-address` in CreateEndpoint's Options["com.docker.network.endpoint.macaddress"]
 * as the base64 of the 6 raw bytes (Go's json encoding of net.HardwareAddr, a []byte); newer daemons send
 * the text form. Accepts both.
 */
export function decodeOptionMac(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (MAC_RE.test(value.toLowerCase())) return value.toLowerCase();
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== 6) return undefined;
  return [...raw].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
