import { type RunResult, run } from './exec.js';
import { uniqueName } from './names.js';

/** Creates a named namespace with `ip netns add` (lo brought up) and returns its name. */
export async function createNetns(name = uniqueName('ns')): Promise<string> {
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/** Deletes a named namespace; a missing one is fine. */
export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'del', name], { allowFail: true });
}

/** Runs a command inside a named namespace. */
export function nsExec(
  ns: string,
  cmd: string,
  args: readonly string[],
  allowFail = false,
): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], { allowFail });
}

/** True when `ping -c count` from the namespace reaches `addr` (IPv6 when the address has a colon). */
export async function canPing(ns: string, addr: string, count = 2): Promise<boolean> {
  const args = [...(addr.includes(':') ? ['-6'] : []), '-c', String(count), '-i', '0.2', '-W', '1', addr];
  const { code } = await nsExec(ns, 'ping', args, true);
  return code === 0;
}

/** Turns TX checksum offload off on an interface (inside `ns` when given); see PROTOCOLS.md §1. */
export async function txOffloadOff(ifname: string, ns?: string): Promise<void> {
  const args = ['-K', ifname, 'tx', 'off'];
  if (ns === undefined) await run('ethtool', args);
  else await nsExec(ns, 'ethtool', args);
}
