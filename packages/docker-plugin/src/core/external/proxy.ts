// The in-process port proxy: for each published port a listening socket on the host port, which (1)
// holds the port, so a port already taken is refused at once (EADDRINUSE) and nothing else takes ours while
// the container runs, and (2) serves what the DNAT rules cannot: connections to 127.0.0.1 / ::1 (the kernel
// drops loopback-sourced packets routed elsewhere unless route_localnet is set, and IPv6 has no such
// switch) and any family whose forwarding is off. Docker's docker-proxy does the same as a process per
// port; here it is a socket in the plugin. Traffic from other hosts and containers never reaches it: the
// PREROUTING DNAT rewrites it before the socket lookup.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { ConflictError } from '../errors.js';
import type { Proto } from './portmap.js';

export interface ProxySpec {
  proto: Proto;
  /** The address to listen on: a host address, `0.0.0.0` or `::` (IPv6 only). */
  listenIp: string;
  /** 0 = any free port. */
  listenPort: number;
  targetIp: string;
  /** 0 = the port listened on (with listenPort 0: the kernel's pick). */
  targetPort: number;
}

/** How long a UDP "connection" (one client address) keeps its upstream socket without traffic. */
const UDP_IDLE_MS = 60_000;

export class PortInUseError extends ConflictError {}

export interface PortProxy {
  readonly spec: ProxySpec;
  /** The port actually bound (the one asked for, or the kernel's pick for 0). */
  readonly port: number;
  close(): Promise<void>;
}

const where = (s: ProxySpec) =>
  `${s.listenIp.includes(':') ? `[${s.listenIp}]` : s.listenIp}:${s.listenPort}/${s.proto}`;

function inUse(spec: ProxySpec, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EADDRINUSE')
    return new PortInUseError(
      `host port ${where(spec)} is already in use (Bind for ${where(spec)} failed: port is already allocated); pick another host port`,
      { cause: err },
    );
  if (err.code === 'EADDRNOTAVAIL')
    return new ConflictError(
      `host address ${spec.listenIp} of ${where(spec)} is not an address of this host`,
      {
        cause: err,
      },
    );
  return new ConflictError(`cannot listen on ${where(spec)}: ${err.message}`, { cause: err });
}

async function tcpProxy(spec: ProxySpec): Promise<PortProxy> {
  const conns = new Set<Socket>();
  let bound = spec.listenPort;
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    const upstream = connect({ host: spec.targetIp, port: spec.targetPort || bound });
    conns.add(client);
    conns.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.once('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(inUse(spec, err)));
    server.listen(
      { host: spec.listenIp, port: spec.listenPort, exclusive: true, ipv6Only: isIPv6(spec.listenIp) },
      () => resolve(),
    );
  });
  server.on('error', () => undefined);
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : spec.listenPort;
  bound = port;
  return {
    spec,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

async function udpProxy(spec: ProxySpec): Promise<PortProxy> {
  const type = isIPv6(spec.listenIp) ? 'udp6' : 'udp4';
  const sock = createSocket({ type, ipv6Only: type === 'udp6' });
  // One upstream socket per client address, so answers find their way back (as docker-proxy's UDP proxy).
  const flows = new Map<string, { up: UdpSocket; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    const f = flows.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    f.up.close();
    flows.delete(key);
  };
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}|${from.port}`;
    let f = flows.get(key);
    if (!f) {
      const up = createSocket(isIPv6(spec.targetIp) ? 'udp6' : 'udp4');
      up.on('message', (answer) => {
        sock.send(answer, from.port, from.address);
        const g = flows.get(key);
        g?.timer.refresh();
      });
      up.on('error', () => drop(key));
      up.connect(spec.targetPort || sock.address().port, spec.targetIp);
      f = { up, timer: setTimeout(() => drop(key), UDP_IDLE_MS) };
      f.timer.unref();
      flows.set(key, f);
      const pending = msg;
      up.once('connect', () => up.send(pending));
      return;
    }
    f.timer.refresh();
    f.up.send(msg);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', (err) => reject(inUse(spec, err)));
    sock.bind({ address: spec.listenIp, port: spec.listenPort, exclusive: true }, () => resolve());
  });
  sock.on('error', () => undefined);
  return {
    spec,
    port: sock.address().port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const key of [...flows.keys()]) drop(key);
        sock.close(() => resolve());
      }),
  };
}

/** Listens on `spec` and forwards to the target; rejects with a ConflictError when the port is taken. */
export function openProxy(spec: ProxySpec): Promise<PortProxy> {
  return spec.proto === 'tcp' ? tcpProxy(spec) : udpProxy(spec);
}
