import { createRequire } from 'node:module';
import { NetlinkError } from './errors.js';

/** The addon built from native/ocn_netlink.c (see the comment at its top for what each call does). */
export interface NativeAddon {
  callInNetns<T>(fd: number, fn: () => T): T;
  inetSocket(): number;
  routeSocket(): number;
  closeFd(fd: number): void;
  nlTransact(fd: number, msg: Buffer): Promise<number>;
  txChecksum(sock: number, ifname: string, on?: boolean): boolean;
  netnsAdd(dir: string, name: string): void;
  netnsDelete(dir: string, name: string): void;
}

let cached: NativeAddon | undefined;

/** Loads build/Release/ocn_netlink.node once (built by this package's `install` script via node-gyp). */
export function native(): NativeAddon {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require('../build/Release/ocn_netlink.node') as NativeAddon;
  } catch (err) {
    throw new NetlinkError(
      'NETLINK_ERR_NATIVE',
      'the native addon build/Release/ocn_netlink.node is missing or broken; build it with ' +
        '`pnpm --filter @ovs-container-network/netlink run build:native` (node-gyp, g++ and Node headers needed)',
      { cause: err },
    );
  }
  return cached;
}
