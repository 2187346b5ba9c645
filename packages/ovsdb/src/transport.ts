// Endpoint strings → connected sockets. The only module that opens sockets.
//
// Endpoint syntax is the one OVS tools accept for active connections (ovsdb-server.1 "--remote",
// ovs-vsctl.8 "--db"): `unix:FILE`, `tcp:HOST:PORT`, `ssl:HOST:PORT`; an IPv6 HOST is written in
// brackets (`tcp:[::1]:6641`). The passive forms (punix:, ptcp:, pssl:) are for servers and not accepted.

import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ConnectError, InvalidArgumentError } from './errors.js';

export type Endpoint =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp' | 'ssl'; readonly host: string; readonly port: number };

const ALLOWED_FORMS =
  "'unix:PATH', 'tcp:HOST:PORT' or 'ssl:HOST:PORT' (IPv6 hosts in brackets: tcp:[::1]:6641)";

/** Parses an OVS endpoint string; InvalidArgumentError names the value and the allowed forms. */
export function parseEndpoint(endpoint: string): Endpoint {
  if (typeof endpoint !== 'string') {
    throw new InvalidArgumentError(`endpoint: ${String(endpoint)} is not allowed; expected ${ALLOWED_FORMS}`);
  }
  const bad = (why: string) =>
    new InvalidArgumentError(
      `endpoint: ${JSON.stringify(endpoint)} is not allowed (${why}); expected ${ALLOWED_FORMS}`,
    );
  const colon = endpoint.indexOf(':');
  if (colon < 0) throw bad('no method prefix');
  const method = endpoint.slice(0, colon);
  const rest = endpoint.slice(colon + 1);
  if (method === 'unix') {
    if (rest.length === 0) throw bad('empty socket path');
    if (rest.includes('\0')) throw bad('NUL byte in socket path');
    return { kind: 'unix', path: rest };
  }
  if (method !== 'tcp' && method !== 'ssl') {
    if (method === 'punix' || method === 'ptcp' || method === 'pssl')
      throw bad('passive (listening) forms are for servers');
    throw bad(`unknown method "${method}"`);
  }
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw bad('IPv6 host must be [ADDR]:PORT');
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
    if (isIP(host) !== 6) throw bad(`"${host}" is not an IPv6 address`);
  } else {
    const last = rest.lastIndexOf(':');
    if (last < 0) throw bad('no port');
    host = rest.slice(0, last);
    portText = rest.slice(last + 1);
    if (host.includes(':')) throw bad('IPv6 hosts must be written in brackets');
  }
  if (host.length === 0) throw bad('empty host');
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad(`port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad(`port ${port} is outside 1..65535`);
  return { kind: method, host, port };
}

/** TLS material for `ssl:` endpoints: PEM text/Buffers, or files read at connect time. */
export interface TlsOptions {
  /** CA certificate(s) that signed the server's certificate (PEM). */
  ca?: string | Buffer;
  caFile?: string;
  /** Our certificate (PEM); ovsdb-server with --ca-cert requires one signed by its CA. */
  cert?: string | Buffer;
  certFile?: string;
  /** Our private key (PEM). */
  key?: string | Buffer;
  keyFile?: string;
  /**
   * Verify the server's certificate chain against `ca` (default true). Turning it off accepts any server:
   * only for tests.
   */
  rejectUnauthorized?: boolean;
  /**
   * Also check that the certificate names the host (default true). OVS's own stream-ssl verifies the chain
   * only; set false to accept OVS PKI certificates whose CN is not the host name.
   */
  checkHostname?: boolean;
  /** SNI / identity to check instead of the endpoint host. */
  servername?: string;
}

export interface TransportOptions {
  /** Give up connecting after this many ms (default 10000). */
  connectTimeoutMs?: number;
  tls?: TlsOptions;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const TLS_KEYS = new Set([
  'ca',
  'caFile',
  'cert',
  'certFile',
  'key',
  'keyFile',
  'rejectUnauthorized',
  'checkHostname',
  'servername',
]);

/** Validates transport options; throws InvalidArgumentError naming the field, the value and what is allowed. */
export function validateTransportOptions(endpoint: Endpoint, opts: TransportOptions): void {
  const t = opts.connectTimeoutMs;
  if (t !== undefined && (!Number.isFinite(t) || t <= 0)) {
    throw new InvalidArgumentError(
      `connectTimeoutMs: ${String(t)} is not allowed; expected a positive number of ms`,
    );
  }
  const tls = opts.tls;
  if (tls === undefined) return;
  if (endpoint.kind !== 'ssl') {
    throw new InvalidArgumentError(
      `tls: options given for a ${endpoint.kind}: endpoint; allowed only with ssl:HOST:PORT`,
    );
  }
  if (typeof tls !== 'object' || tls === null) {
    throw new InvalidArgumentError(`tls: ${String(tls)} is not allowed; expected an object`);
  }
  for (const k of Object.keys(tls)) {
    if (!TLS_KEYS.has(k)) {
      throw new InvalidArgumentError(`tls.${k}: unknown option; allowed: ${[...TLS_KEYS].join(', ')}`);
    }
  }
  for (const [pem, file] of [
    ['ca', 'caFile'],
    ['cert', 'certFile'],
    ['key', 'keyFile'],
  ] as const) {
    const v = tls[pem];
    const f = tls[file];
    if (v !== undefined && f !== undefined) {
      throw new InvalidArgumentError(`tls.${pem} and tls.${file}: both given; allowed: one of them`);
    }
    if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v)) {
      throw new InvalidArgumentError(
        `tls.${pem}: ${typeof v} is not allowed; expected PEM as a string or Buffer`,
      );
    }
    if (f !== undefined && (typeof f !== 'string' || f.length === 0)) {
      throw new InvalidArgumentError(
        `tls.${file}: ${JSON.stringify(f)} is not allowed; expected a file path`,
      );
    }
  }
  const hasCert = tls.cert !== undefined || tls.certFile !== undefined;
  const hasKey = tls.key !== undefined || tls.keyFile !== undefined;
  if (hasCert !== hasKey) {
    throw new InvalidArgumentError(
      `tls: ${hasCert ? 'a certificate without a key' : 'a key without a certificate'} is not allowed; give both or neither`,
    );
  }
  for (const k of ['rejectUnauthorized', 'checkHostname'] as const) {
    const v = tls[k];
    if (v !== undefined && typeof v !== 'boolean') {
      throw new InvalidArgumentError(`tls.${k}: ${JSON.stringify(v)} is not allowed; expected true or false`);
    }
  }
  if (tls.servername !== undefined && (typeof tls.servername !== 'string' || tls.servername.length === 0)) {
    throw new InvalidArgumentError(
      `tls.servername: ${JSON.stringify(tls.servername)} is not allowed; expected a host name`,
    );
  }
}

/**
 * Opens a socket to an endpoint and resolves once it is connected (for ssl:, once the TLS handshake has
 * verified the server). Rejects with ConnectError (cause: the socket error) or on timeout.
 */
export function openTransport(endpointText: string, opts: TransportOptions = {}): Promise<Socket> {
  const endpoint = parseEndpoint(endpointText);
  validateTransportOptions(endpoint, opts);
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise<Socket>((resolve, reject) => {
    let socket: Socket | TLSSocket;
    const readyEvent = endpoint.kind === 'ssl' ? 'secureConnect' : 'connect';
    try {
      if (endpoint.kind === 'unix') {
        socket = netConnect({ path: endpoint.path });
      } else if (endpoint.kind === 'tcp') {
        socket = netConnect({ host: endpoint.host, port: endpoint.port });
      } else {
        const tls = opts.tls ?? {};
        const read = (file: string | undefined, field: string) => {
          if (file === undefined) return undefined;
          try {
            return readFileSync(file);
          } catch (err) {
            throw new ConnectError(
              endpointText,
              `cannot read tls.${field} ${file}: ${(err as Error).message}`,
              {
                cause: err,
              },
            );
          }
        };
        const ca = tls.ca ?? read(tls.caFile, 'caFile');
        const cert = tls.cert ?? read(tls.certFile, 'certFile');
        const key = tls.key ?? read(tls.keyFile, 'keyFile');
        const servername = tls.servername ?? (isIP(endpoint.host) ? undefined : endpoint.host);
        socket = tlsConnect({
          host: endpoint.host,
          port: endpoint.port,
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
          ...(servername === undefined ? {} : { servername }),
          rejectUnauthorized: tls.rejectUnauthorized ?? true,
          ...(tls.checkHostname === false ? { checkServerIdentity: () => undefined } : {}),
        });
      }
    } catch (err) {
      reject(
        err instanceof ConnectError
          ? err
          : new ConnectError(endpointText, (err as Error).message, { cause: err }),
      );
      return;
    }
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new ConnectError(endpointText, `timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(new ConnectError(endpointText, err.message, { cause: err }));
    };
    const onClose = () => {
      cleanup();
      reject(new ConnectError(endpointText, 'connection closed during connect'));
    };
    const onReady = () => {
      cleanup();
      socket.setNoDelay(true);
      resolve(socket);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off(readyEvent, onReady);
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(readyEvent, onReady);
  });
}
