import { closeSync, constants as fsConstants, openSync, readdirSync } from 'node:fs';
import { NetlinkError, NetlinkInvalidArgumentError, toNetlinkError } from './errors.js';
import { native } from './native.js';
import { validateNetnsName } from './validate.js';

/** Where named namespaces live, as with iproute2 (`ip netns`). */
export const NETNS_RUN_DIR = '/run/netns';

/**
 * A network namespace: `'host'` (the namespace this process started in), a named one (`/run/netns/NAME`), a
 * path to a namespace file (`/proc/PID/ns/net`, a bind mount), a process, or an fd the caller owns.
 */
export type NetnsRef = 'host' | { name: string } | { path: string } | { pid: number } | { fd: number };

/** A human-readable description of a {@link NetnsRef}, for errors. */
export function describeNetns(ref: NetnsRef): string {
  if (ref === 'host') return 'host';
  if (typeof ref !== 'object' || ref === null) return String(ref);
  if ('name' in ref) return ref.name;
  if ('path' in ref) return ref.path;
  if ('pid' in ref) return `pid ${ref.pid}`;
  return `fd ${ref.fd}`;
}

/** An open namespace fd; `owned` fds are closed by {@link closeNetnsFd}. */
export interface NetnsFd {
  fd: number;
  owned: boolean;
  description: string;
}

/** The namespace of the process (its main thread never stays elsewhere: see callInNetns), opened once. */
// libuv opens every fd with O_CLOEXEC.
let hostFd: number | undefined;
function hostNetnsFd(): number {
  hostFd ??= openSync('/proc/self/ns/net', fsConstants.O_RDONLY);
  return hostFd;
}

/** Opens the namespace file behind a {@link NetnsRef}. Missing namespaces throw ENOENT as a kernel error. */
export function openNetnsFd(ref: NetnsRef, operation = 'openNetns'): NetnsFd {
  const description = describeNetns(ref);
  if (ref === 'host') return { fd: hostNetnsFd(), owned: false, description };
  if (typeof ref !== 'object' || ref === null) {
    throw new NetlinkInvalidArgumentError('netns', ref, "'host', {name}, {path}, {pid} or {fd}");
  }
  if ('fd' in ref) {
    if (!Number.isInteger(ref.fd) || ref.fd < 0) {
      throw new NetlinkInvalidArgumentError('netns.fd', ref.fd, 'an open file descriptor (integer >= 0)');
    }
    return { fd: ref.fd, owned: false, description };
  }
  let path: string;
  if ('name' in ref) path = `${NETNS_RUN_DIR}/${validateNetnsName(ref.name, 'netns.name')}`;
  else if ('pid' in ref) {
    if (!Number.isInteger(ref.pid) || ref.pid <= 0) {
      throw new NetlinkInvalidArgumentError('netns.pid', ref.pid, 'a process id (integer > 0)');
    }
    path = `/proc/${ref.pid}/ns/net`;
  } else if ('path' in ref && typeof ref.path === 'string' && ref.path.startsWith('/')) path = ref.path;
  else throw new NetlinkInvalidArgumentError('netns', ref, "'host', {name}, {path: absolute}, {pid} or {fd}");
  try {
    return { fd: openSync(path, fsConstants.O_RDONLY), owned: true, description };
  } catch (err) {
    throw toNetlinkError(err, { operation, netns: description, detail: path });
  }
}

export function closeNetnsFd(n: NetnsFd): void {
  if (n.owned) closeSync(n.fd);
}

/**
 * Opens the namespace and makes a socket inside it: `make` runs with the calling thread in the namespace
 * (setns in and back, synchronously: native callInNetns), so the socket belongs to it for its whole life.
 * On failure both are closed again and the error names `operation` and the namespace.
 */
export function socketInNetns<T extends { close(): void }>(
  ns: NetnsRef,
  operation: string,
  make: () => T,
): { sock: T; nsFd: NetnsFd } {
  const nsFd = openNetnsFd(ns, operation);
  let sock: T | undefined;
  try {
    if (ns === 'host') sock = make();
    else
      native().callInNetns(nsFd.fd, () => {
        sock = make();
      });
  } catch (err) {
    sock?.close();
    closeNetnsFd(nsFd);
    throw toNetlinkError(err, { operation, netns: nsFd.description });
  }
  if (sock === undefined) {
    closeNetnsFd(nsFd);
    throw new NetlinkError('NETLINK_ERR_NATIVE', `${operation}: no socket was created`);
  }
  return { sock, nsFd };
}

/**
 * Creates a named namespace like `ip netns add NAME`: a fresh network namespace bind-mounted on
 * /run/netns/NAME (made a shared mount point first). Its `lo` is down, as with `ip`. EEXIST if taken.
 */
export function createNetns(name: string): void {
  validateNetnsName(name, 'name');
  try {
    native().netnsAdd(NETNS_RUN_DIR, name);
  } catch (err) {
    throw toNetlinkError(err, { operation: 'createNetns', netns: name });
  }
}

/**
 * Deletes a named namespace like `ip netns del NAME`: lazy unmount and unlink. The namespace itself goes
 * away once no process, open fd or handle holds it. ENOENT if there is no such name.
 */
export function deleteNetns(name: string): void {
  validateNetnsName(name, 'name');
  try {
    native().netnsDelete(NETNS_RUN_DIR, name);
  } catch (err) {
    throw toNetlinkError(err, { operation: 'deleteNetns', netns: name });
  }
}

/** The names under /run/netns (empty when the directory does not exist). */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw toNetlinkError(err, { operation: 'listNetns' });
  }
}
