import { createRequire } from 'node:module';
import { NetlinkError } from './errors.js';

/** The addon built from native/ocn_netlink.c (see the comment at its top for what each call does). */
export interface NativeAddon {
  callInNetns<T>(fd: number, fn: () => T): T;
  inetSocket(): number;
  routeSocket(): number;
  closeFd(fd: number): void;
  nlTransact(fd: number, msg: Buffer): Promise<number>;
  /** Sends one or more requests in one sendmsg on a worker thread; every answer with one of their seqs, raw. */
  nlRequest(fd: number, msgs: Buffer): Promise<Buffer>;
  txChecksum(sock: number, ifname: string, on?: boolean): boolean;
  /** txChecksum's set on a worker thread; the state after. */
  txChecksumAsync(sock: number, ifname: string, on: boolean): Promise<boolean>;
  netnsAdd(dir: string, name: string): void;
  netnsDelete(dir: string, name: string): void;
  /** AF_PACKET socket on `ifname` (calling thread's namespace) seeing incoming ARP and UDP-to-68 frames. */
  packetSocket(ifname: string): number;
  /** Sends one whole Ethernet frame. */
  packetSend(fd: number, frame: Buffer): void;
  /** The next incoming frame, or null after `timeoutMs` (waits on a pool thread; keep fd open until it settles). */
  packetRecv(fd: number, timeoutMs: number): Promise<Buffer | null>;
}

let cached: NativeAddon | undefined;

/**
 * Where the addon is looked for, in order: a local build (`build/Release`, made by this package's `install`
 * script with node-gyp, as in this repository), then the prebuilt binary that the published tarball ships for
 * this platform and architecture (`prebuilds/linux-x64/`), which needs no compiler and no install script
 * (pnpm 10 skips dependencies' install scripts unless the consumer allows them).
 */
export const ADDON_PATHS = [
  '../build/Release/ocn_netlink.node',
  `../prebuilds/${process.platform}-${process.arch}/ocn_netlink.node`,
];

/** Loads the addon once, from the first of {@link ADDON_PATHS} that loads. */
export function native(): NativeAddon {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  let last: unknown;
  for (const path of ADDON_PATHS) {
    try {
      cached = require(path) as NativeAddon;
      return cached;
    } catch (err) {
      last = err;
      failures.push(`${path.slice(3)}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new NetlinkError(
    'NETLINK_ERR_NATIVE',
    `the native addon ocn_netlink.node could not be loaded (${failures.join('; ')}); no prebuilt binary ships for ` +
      `${process.platform}-${process.arch}, so build it: \`npm rebuild @ovs-container-network/netlink\` or ` +
      '`pnpm --filter @ovs-container-network/netlink run build:native` (node-gyp, g++, make, python3 and Node headers needed)',
    { cause: last },
  );
}
