// Shared helpers of the integration tests: namespaces made with OUR API and removed in teardown (with `ip`,
// so cleanup does not depend on the code under test), and independent checks through `ip -json`/`ethtool`.
import {
  deleteNetns as ipDeleteNetns,
  ipJson,
  nsExec,
  run,
  uniqueName,
} from '@ovs-container-network/testkit';
import { createNetns } from '../../src/index.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A named namespace created with createNetns(), deleted with `ip netns del` in teardown. */
export function netnsFixture(t: Teardown, tag = 'ns'): string {
  const name = uniqueName(tag);
  createNetns(name);
  t.teardown(() => ipDeleteNetns(name));
  return name;
}

/** Deletes host links by name in teardown (a missing one is fine). */
export function linkCleanup(t: Teardown, ...names: string[]): void {
  t.teardown(async () => {
    for (const n of names) await run('ip', ['link', 'del', n], { allowFail: true });
  });
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  flags: string[];
  group?: string | number;
  link_index?: number;
  operstate?: string;
}

/** `ip -json link show dev NAME` (in `ns` when given), or undefined when there is no such link. */
export async function ipLink(name: string, ns?: string): Promise<IpLink | undefined> {
  const args = ['-json', ...(ns === undefined ? [] : ['-n', ns]), 'link', 'show', 'dev', name];
  const r = await run('ip', args, { allowFail: true });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as IpLink[])[0];
}

/** Every link of a namespace according to `ip -json link`. */
export function ipLinks(ns?: string): Promise<IpLink[]> {
  return ipJson<IpLink[]>(['link', 'show'], ns);
}

interface IpAddrEntry {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; nodad?: boolean; tentative?: boolean }[];
}

/** `ip/len` strings on a link (`ip -json addr show dev`). */
export async function ipAddrs(name: string, ns?: string): Promise<string[]> {
  const out = await ipJson<IpAddrEntry[]>(['addr', 'show', 'dev', name], ns);
  return (out[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
}

/** The `tx-checksumming` line of `ethtool -k` (inside `ns` when given). */
export async function ethtoolTx(name: string, ns?: string): Promise<string | undefined> {
  const r = ns === undefined ? await run('ethtool', ['-k', name]) : await nsExec(ns, 'ethtool', ['-k', name]);
  return /^tx-checksumming: (\w+)/m.exec(r.stdout)?.[1];
}
