// Network options: `docker network create -o k=v` and compose `driver_opts` arrive as strings in
// CreateNetwork's Options["com.docker.network.generic"] (moby libnetwork/netlabel.GenericData). Every option
// is validated before anything is created; an unknown key is an error, not silently ignored.
import { InvalidOptionError } from './errors.js';
import { parseMonitorName } from './mirror.js';
import { isRateOption, parseRateOptions, RATE_OPTION_KEYS, type RateLimits } from './qos.js';
import { DATAPATH_ALLOWED, type DatapathType, isDatapathType } from './rules/datapath.js';
import { tenantProblem, vlanProblem } from './rules/ids.js';
import { hostIfNameProblem } from './rules/ifname.js';
import { mtuProblem } from './rules/mtu.js';

export type { DatapathType };
export type GatewayMode = 'internal' | 'external' | 'none';

export const DEFAULT_BRIDGE = 'ocn-br0';
export const DEFAULT_MTU = 1500;

export interface NetworkOptions {
  bridge: string;
  /** Explicit VLAN tag; undefined means "allocate a free tag on the bridge". */
  vlan: number | undefined;
  tenantId: string | undefined;
  mtu: number;
  datapathType: DatapathType;
  /** An existing host interface added to the bridge as a trunk carrying the networks' VLANs. */
  uplink: string | undefined;
  gatewayMode: GatewayMode;
  /** false: the host routes between this network and other non-isolated networks of the driver. */
  isolate: boolean;
  /** ns16: source NAT for traffic leaving the host from this network's subnets (default true, as Docker's bridge). */
  masquerade: boolean;
  /** Default rate limits of the network's endpoints (`rate.*`, `burst.*`: qos.ts). */
  qos: RateLimits;
  /** `mirror.to`: the monitor the whole network is mirrored to (mirror.ts). */
  mirrorTo: string | undefined;
}

/** Docker's well-known option keys (moby libnetwork/netlabel). */
export const LABEL_GENERIC = 'com.docker.network.generic';
export const LABEL_ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
export const LABEL_INTERNAL = 'com.docker.network.internal';
export const LABEL_DRIVER_MTU = 'com.docker.network.driver.mtu';
export const LABEL_MAC = 'com.docker.network.endpoint.macaddress';

export const NETWORK_OPTION_KEYS = [
  'bridge',
  'vlan',
  'tenant_id',
  'mtu',
  'datapath_type',
  'uplink',
  'gateway_mode',
  'isolate',
  'masquerade',
  ...RATE_OPTION_KEYS,
  'mirror.to',
] as const;

function str(key: string, v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new InvalidOptionError(key, v, 'a string');
}

function int(key: string, v: unknown, min: number, max: number, what: string): number {
  const s = str(key, v);
  if (!/^[0-9]+$/.test(s)) throw new InvalidOptionError(key, v, `${what}: an integer from ${min} to ${max}`);
  const n = Number(s);
  if (n < min || n > max) throw new InvalidOptionError(key, v, `${what}: an integer from ${min} to ${max}`);
  return n;
}

function bool(key: string, v: unknown): boolean {
  const s = str(key, v).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new InvalidOptionError(key, v, 'true or false');
}

/** A host interface name for `bridge`/`uplink` (rules/ifname.ts: valid, not lo or an OVS datapath device). */
export function parseIfName(key: string, v: unknown): string {
  const s = str(key, v);
  const problem = hostIfNameProblem(s);
  if (problem) throw new InvalidOptionError(key, v, problem);
  return s;
}

export function parseDatapathType(key: string, v: unknown): DatapathType {
  const s = str(key, v);
  if (!isDatapathType(s)) throw new InvalidOptionError(key, v, DATAPATH_ALLOWED);
  return s;
}

export interface ParseContext {
  /** The driver's default datapath type (`--datapath-type`). */
  datapathType: DatapathType;
  /** `docker network create --internal`. */
  internal: boolean;
  /** `docker network create --ipv6`. */
  ipv6: boolean;
  /** The IPAM data names a gateway (with gateway_mode internal it goes on an OVS internal port). */
  gateway?: boolean;
}

/**
 * Parses the generic options of a network. `generic` is Options["com.docker.network.generic"]; the
 * `com.docker.network.driver.mtu` key Docker documents for drivers is accepted as an alias of `mtu`.
 */
export function parseNetworkOptions(generic: unknown, ctx: ParseContext): NetworkOptions {
  if (generic !== undefined && generic !== null && (typeof generic !== 'object' || Array.isArray(generic))) {
    throw new InvalidOptionError(LABEL_GENERIC, generic, 'an object of driver options');
  }
  const opts = (generic ?? {}) as Record<string, unknown>;
  const out: NetworkOptions = {
    bridge: DEFAULT_BRIDGE,
    vlan: undefined,
    tenantId: undefined,
    mtu: DEFAULT_MTU,
    datapathType: ctx.datapathType,
    uplink: undefined,
    gatewayMode: ctx.internal ? 'none' : 'internal',
    isolate: true,
    masquerade: true,
    qos: {},
    mirrorTo: undefined,
  };
  const rateOpts: Record<string, unknown> = {};
  let mtuKey = 'mtu';
  let mtuValue: unknown = DEFAULT_MTU;
  for (const [key, value] of Object.entries(opts)) {
    switch (key) {
      case 'bridge':
        out.bridge = parseIfName(key, value);
        break;
      case 'vlan': {
        out.vlan = int(key, value, 1, 4094, 'a VLAN id');
        const problem = vlanProblem(out.vlan);
        if (problem) throw new InvalidOptionError(key, value, problem);
        break;
      }
      case 'tenant_id': {
        const s = str(key, value);
        const problem = tenantProblem(s);
        if (problem) throw new InvalidOptionError(key, value, problem);
        out.tenantId = s;
        break;
      }
      case 'mtu':
      case LABEL_DRIVER_MTU: {
        const s = str(key, value);
        out.mtu = /^[0-9]{1,6}$/.test(s) ? Number(s) : Number.NaN;
        mtuKey = key;
        mtuValue = value;
        break;
      }
      case 'datapath_type':
        out.datapathType = parseDatapathType(key, value);
        break;
      case 'uplink':
        out.uplink = parseIfName(key, value);
        break;
      case 'gateway_mode': {
        const s = str(key, value);
        if (s !== 'internal' && s !== 'external' && s !== 'none') {
          throw new InvalidOptionError(key, value, '"internal", "external" or "none"');
        }
        out.gatewayMode = s;
        break;
      }
      case 'isolate':
        out.isolate = bool(key, value);
        break;
      case 'masquerade':
        out.masquerade = bool(key, value);
        break;
      case 'mirror.to':
        out.mirrorTo = parseMonitorName(key, value);
        break;
      default:
        if (isRateOption(key)) {
          rateOpts[key] = value;
          break;
        }
        throw new InvalidOptionError(
          key,
          value,
          `a known option; this driver accepts ${NETWORK_OPTION_KEYS.join(', ')}`,
        );
    }
  }
  if (ctx.internal && out.gatewayMode !== 'none') {
    if ('gateway_mode' in opts) {
      throw new InvalidOptionError(
        'gateway_mode',
        out.gatewayMode,
        '"none" on an --internal network (it has no gateway)',
      );
    }
    out.gatewayMode = 'none';
  }
  // Checked once the rest is known: the range depends on IPv6 and on a gateway port (rules/mtu.ts).
  const problem = mtuProblem(out.mtu, {
    ipv6: ctx.ipv6,
    internalPort: out.gatewayMode === 'internal' && ctx.gateway === true,
  });
  if (problem) throw new InvalidOptionError(mtuKey, mtuValue, problem);
  out.qos = parseRateOptions(rateOpts, {}, out.mtu);
  return out;
}
