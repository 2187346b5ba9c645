// Docker's port options, as ProgramExternalConnectivity receives them (moby libnetwork: the sandbox's
// CreateOptionPortMapping / CreateOptionExposedPorts reach a remote driver through the endpoint's generic
// options, JSON-encoded by the remote driver's client). Shapes (libnetwork/types.PortBinding, TransportPort):
//   com.docker.network.portmap:            [{Proto, IP, Port, HostIP, HostPort, HostPortEnd}]
//   com.docker.network.endpoint.exposedports: [{Proto, Port}]
// Proto is the IP protocol number (types.Protocol: 6 TCP, 17 UDP, 132 SCTP); HostIP "" means every
// address; HostPort 0 asks for an ephemeral port; HostPort..HostPortEnd (`-p 8000-8010:80`) asks for ONE
// free port of the range for container port Port (nat.ParsePortSpecs already split `8000-8001:80-81` into
// one binding per port). The records kept in OVS are what was actually bound: one host port each.
import { isIP } from 'node:net';
import { InvalidRequestError, show } from '../errors.js';

export const LABEL_PORTMAP = 'com.docker.network.portmap';
export const LABEL_EXPOSED = 'com.docker.network.endpoint.exposedports';

export type Proto = 'tcp' | 'udp';
const PROTO_NUMBERS: Record<number, Proto> = { 6: 'tcp', 17: 'udp' };

/** One binding Docker asks for. */
export interface PortRequest {
  proto: Proto;
  /** The container port. */
  port: number;
  /** '' = every host address (both families the container has), else one address. */
  hostIp: string;
  /** 0 = any free port; with hostPortEnd, the first free port of the range. */
  hostPort: number;
  hostPortEnd: number;
}

/** One binding made: what the firewall rules and the proxy serve, and what OVS records. */
export interface PortBinding {
  proto: Proto;
  port: number;
  hostIp: string;
  hostPort: number;
}

function bad(field: string, v: unknown, allowed: string): never {
  throw new InvalidRequestError(`invalid ${field} ${show(v)}: expected ${allowed}`);
}

function portNumber(field: string, v: unknown, allowZero: boolean): number {
  const n = typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535)
    bad(field, v, allowZero ? 'a port 0..65535 (0: any free port)' : 'a port 1..65535');
  return n;
}

function proto(field: string, v: unknown): Proto {
  const p = typeof v === 'number' ? PROTO_NUMBERS[v] : v === 'tcp' || v === 'udp' ? v : undefined;
  if (p === undefined) bad(field, v, '6 (tcp) or 17 (udp); this driver publishes no other protocol');
  return p;
}

function hostIp(field: string, v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || isIP(v) === 0) bad(field, v, 'an IPv4 or IPv6 address, or empty for all');
  // Unspecified addresses mean "all of that family": kept as given (0.0.0.0 binds IPv4 only, as Docker).
  return v;
}

/** Parses Options["com.docker.network.portmap"]; absent or null means no published port. */
export function parsePortMap(v: unknown): PortRequest[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 4096) bad(LABEL_PORTMAP, v, 'a list of port bindings');
  return v.map((b: unknown, i): PortRequest => {
    const f = `${LABEL_PORTMAP}[${i}]`;
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      bad(f, b, '{Proto, Port, HostIP, HostPort, HostPortEnd}');
    const o = b as Record<string, unknown>;
    const hostPort = portNumber(`${f}.HostPort`, o.HostPort ?? 0, true);
    let hostPortEnd = portNumber(`${f}.HostPortEnd`, o.HostPortEnd ?? 0, true);
    if (hostPortEnd === 0) hostPortEnd = hostPort;
    if (hostPort === 0 && hostPortEnd !== 0) bad(`${f}.HostPort`, 0, 'a start port with HostPortEnd');
    if (hostPortEnd < hostPort) bad(`${f}.HostPortEnd`, o.HostPortEnd, `a port ≥ HostPort (${hostPort})`);
    return {
      proto: proto(`${f}.Proto`, o.Proto),
      port: portNumber(`${f}.Port`, o.Port, false),
      hostIp: hostIp(`${f}.HostIP`, o.HostIP),
      hostPort,
      hostPortEnd,
    };
  });
}

/** Parses Options["com.docker.network.endpoint.exposedports"] (`EXPOSE`/`--expose`: shown, not published). */
export function parseExposed(v: unknown): { proto: Proto; port: number }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 4096) bad(LABEL_EXPOSED, v, 'a list of {Proto, Port}');
  return v.map((b: unknown, i) => {
    const f = `${LABEL_EXPOSED}[${i}]`;
    if (typeof b !== 'object' || b === null) bad(f, b, '{Proto, Port}');
    const o = b as Record<string, unknown>;
    return { proto: proto(`${f}.Proto`, o.Proto), port: portNumber(`${f}.Port`, o.Port, false) };
  });
}

/** The OVS record of an endpoint's bindings (Port external_ids:ocn-ports), validated like any input. */
export function decodeBindings(text: string | undefined): PortBinding[] | undefined {
  if (text === undefined || text.length > 65536) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v)) return undefined;
    const out: PortBinding[] = [];
    for (const b of v) {
      if (typeof b !== 'object' || b === null) return undefined;
      const o = b as Record<string, unknown>;
      if (Object.keys(o).some((k) => !['proto', 'port', 'hostIp', 'hostPort'].includes(k))) return undefined;
      out.push({
        proto: proto('proto', o.proto),
        port: portNumber('port', o.port, false),
        hostIp: hostIp('hostIp', o.hostIp),
        hostPort: portNumber('hostPort', o.hostPort, false),
      });
    }
    return out;
  } catch {
    return undefined;
  }
}

export const encodeBindings = (b: readonly PortBinding[]): string =>
  JSON.stringify(b.map((x) => ({ proto: x.proto, port: x.port, hostIp: x.hostIp, hostPort: x.hostPort })));

/** Docker's JSON shape of bindings (types.PortBinding), for EndpointOperInfo. */
export function dockerPortMap(b: readonly PortBinding[]): Record<string, unknown>[] {
  return b.map((x) => ({
    Proto: x.proto === 'tcp' ? 6 : 17,
    Port: x.port,
    HostIP: x.hostIp,
    HostPort: x.hostPort,
    HostPortEnd: x.hostPort,
  }));
}
