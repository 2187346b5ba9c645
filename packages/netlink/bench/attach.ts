// Benchmark: N container-style attaches (veth, peer into a namespace, rename, MTU, MAC, up, address, default
// route) and detaches, natively through this package versus spawning `ip` for the same steps, in one run.
// Two ways to attach, each done identically by both sides:
//   in-place: the peer is created directly inside the namespace with its final name, MTU and MAC (one
//             RTM_NEWLINK; `ip link add … type veth peer name eth0 netns NS …`), then up, address, route.
//   move:     the peer is created on the host under a temporary name, then moved into the namespace, renamed
//             and configured in one RTM_SETLINK (`ip link set TMP netns NS name eth0 mtu … address … up`).
//             Moving a device between namespaces waits for an RCU grace period in the kernel
//             (dev_change_net_namespace → synchronize_net), which dominates both sides.
// Then the longest event-loop stall while deleting links: in bulk by link group and one by one (both on a
// pool thread here), against DELLINK sent from the main thread (what a plain netlink socket does).
//
//   pnpm --filter @ovs-container-network/netlink bench        (root; needs root privileges)
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { run, uniqueName } from '@ovs-container-network/testkit';
import { createRtNetlink } from 'netlink';
import { attachVeth, createNetns, deleteNetns, NetlinkHandle, openHandle } from '../src/index.js';

const N = 100;
const MTU = 1450;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const ms = (x: number): string => `${x.toFixed(3)} ms`;
const mac = (i: number): string =>
  `02:00:00:be:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

interface Slot {
  ns: string;
  hostName: string;
  tmpName: string;
  addr: string;
  gateway: string;
}

function slots(tag: string): Slot[] {
  return Array.from({ length: N }, (_, i) => ({
    ns: uniqueName(`${tag}n`),
    hostName: uniqueName(`${tag}h`),
    tmpName: uniqueName(`${tag}t`),
    addr: `10.${100 + (i >> 8)}.${i & 0xff}.2/24`,
    gateway: `10.${100 + (i >> 8)}.${i & 0xff}.1`,
  }));
}

/** attachVeth: one NEWLINK (peer in the namespace, final name, MTU, MAC), peer up, address, default route. */
async function nativeInPlace(host: NetlinkHandle, s: Slot, i: number): Promise<void> {
  await attachVeth(host, {
    hostName: s.hostName,
    netns: { name: s.ns },
    ifname: 'eth0',
    mtu: MTU,
    mac: mac(i),
    addresses: [s.addr],
    gateways: [s.gateway],
  });
}

async function ipInPlace(s: Slot, i: number): Promise<void> {
  const m = String(MTU);
  await run('ip', [
    'link',
    'add',
    s.hostName,
    'mtu',
    m,
    'up',
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    s.ns,
    'mtu',
    m,
    'address',
    mac(i),
  ]);
  await run('ip', ['-n', s.ns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', s.ns, 'addr', 'add', s.addr, 'dev', 'eth0']);
  await run('ip', ['-n', s.ns, 'route', 'add', 'default', 'via', s.gateway]);
}

async function nativeMove(host: NetlinkHandle, s: Slot, i: number): Promise<void> {
  const ns = NetlinkHandle.open({ name: s.ns });
  try {
    await host.createVeth({ name: s.hostName, peer: { name: s.tmpName } });
    await host.moveLink(s.tmpName, ns, { name: 'eth0', mtu: MTU, mac: mac(i), up: true });
    await host.setLink(s.hostName, { mtu: MTU, up: true });
    await ns.addAddress('eth0', s.addr);
    await ns.addRoute({ dst: 'default', gateway: s.gateway });
  } finally {
    ns.close();
  }
}

async function ipMove(s: Slot, i: number): Promise<void> {
  await run('ip', ['link', 'add', s.hostName, 'type', 'veth', 'peer', 'name', s.tmpName]);
  await run('ip', [
    'link',
    'set',
    s.tmpName,
    'netns',
    s.ns,
    'name',
    'eth0',
    'mtu',
    String(MTU),
    'address',
    mac(i),
    'up',
  ]);
  await run('ip', ['link', 'set', s.hostName, 'mtu', String(MTU), 'up']);
  await run('ip', ['-n', s.ns, 'addr', 'add', s.addr, 'dev', 'eth0']);
  await run('ip', ['-n', s.ns, 'route', 'add', 'default', 'via', s.gateway]);
}

async function timeEach(items: Slot[], fn: (s: Slot, i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (const [i, s] of items.entries()) {
    const t0 = performance.now();
    await fn(s, i);
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Runs `fn` while sampling the event loop: the longest gap between 1 ms interval ticks and the max of
 * perf_hooks' event-loop delay histogram. Sampling starts 20 ms before `fn` so start-up is not counted.
 */
async function stall(fn: () => Promise<void>): Promise<{ maxGap: number; histMax: number; wall: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  h.enable();
  await new Promise((r) => setTimeout(r, 20));
  maxGap = 0;
  h.reset();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  h.disable();
  return { maxGap, histMax: h.max / 1e6, wall };
}

async function makeGroup(host: NetlinkHandle, group: number, tag: string): Promise<string[]> {
  const names = Array.from({ length: N }, () => uniqueName(tag));
  await Promise.all(names.map((name) => host.createVeth({ name, group, peer: { name: uniqueName(tag) } })));
  return names;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (namespaces, veth pairs)');
  const host = openHandle();
  const created: string[] = [];
  const leftovers: string[] = [];
  const prepare = (tag: string): Slot[] => {
    const ss = slots(tag);
    for (const s of ss) {
      createNetns(s.ns);
      created.push(s.ns);
      leftovers.push(s.hostName);
    }
    return ss;
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const report = (what: string, nat: number[], ip: number[]) => {
    console.log(`${what} native: median ${ms(median(nat))}, total ${ms(sum(nat))}`);
    console.log(`${what} ip    : median ${ms(median(ip))}, total ${ms(sum(ip))}`);
    console.log(`${what} ratio (ip / native, medians): ${(median(ip) / median(nat)).toFixed(1)}x`);
  };
  try {
    console.log(
      `netlink bench: N=${N} container-style attaches (veth, peer into a namespace, rename, MTU, MAC,`,
    );
    console.log('up, address, default route) and detaches; native = this package, ip = spawning iproute2');

    console.log('-- in-place (peer created inside the namespace with its final name, MTU, MAC)');
    const [n1, i1] = [prepare('bn'), prepare('bi')];
    const natIn = await timeEach(n1, (s, i) => nativeInPlace(host, s, i));
    const ipIn = await timeEach(i1, (s, i) => ipInPlace(s, i));
    report('attach ', natIn, ipIn);
    const natDel = await timeEach(n1, (s) => host.deleteLink(s.hostName));
    const ipDel = await timeEach(i1, (s) => run('ip', ['link', 'del', s.hostName]).then(() => undefined));
    report('detach ', natDel, ipDel);

    console.log('-- move (peer created on the host, then moved + renamed + configured in one message)');
    const [n2, i2] = [prepare('bm'), prepare('bj')];
    const natMv = await timeEach(n2, (s, i) => nativeMove(host, s, i));
    const ipMv = await timeEach(i2, (s, i) => ipMove(s, i));
    report('attach ', natMv, ipMv);
    const g0 = 4_000_000 + Math.floor(Math.random() * 1_000_000);
    for (const s of n2) await host.setLink(s.hostName, { group: g0 });
    const tb = performance.now();
    await host.deleteLinkGroup(g0);
    const bulkDetach = performance.now() - tb;
    const ipDel2 = await timeEach(i2, (s) => run('ip', ['link', 'del', s.hostName]).then(() => undefined));
    console.log(
      `detach  native, all ${N} by link group: ${ms(bulkDetach)} total (${ms(bulkDetach / N)} per pair)`,
    );
    console.log(
      `detach  ip, one by one: total ${ms(sum(ipDel2))}; ratio of totals ${(sum(ipDel2) / bulkDetach).toFixed(1)}x`,
    );

    const conc = prepare('bc');
    const tc = performance.now();
    await Promise.all(conc.map((s, i) => nativeInPlace(host, s, i)));
    console.log(`attach  native in-place, ${N} concurrently: ${ms(performance.now() - tc)} wall`);
    await Promise.all(conc.map((s) => host.deleteLink(s.hostName)));

    // Event-loop stalls while deleting N veth pairs, after the noise floor of this (shared) machine.
    const idle = await stall(() => new Promise((r) => setTimeout(r, 1000)));
    console.log(
      `idle for 1 s (noise floor): longest event-loop stall ${ms(idle.maxGap)} (histogram max ${ms(idle.histMax)})`,
    );
    const g1 = 3_000_000 + Math.floor(Math.random() * 1_000_000);
    leftovers.push(...(await makeGroup(host, g1, 'bg')));
    const bulk = await stall(() => host.deleteLinkGroup(g1));
    console.log(
      `bulk delete of ${N} pairs by link group: ${ms(bulk.wall)} wall, longest event-loop stall ${ms(bulk.maxGap)} (histogram max ${ms(bulk.histMax)})`,
    );
    const g2 = g1 + 1;
    const one = await makeGroup(host, g2, 'bo');
    leftovers.push(...one);
    const each = await stall(async () => {
      await Promise.all(one.map((n) => host.deleteLink(n)));
    });
    console.log(
      `one-by-one delete of ${N} pairs (pool thread): ${ms(each.wall)} wall, longest event-loop stall ${ms(each.maxGap)} (histogram max ${ms(each.histMax)})`,
    );
    // Baseline: DELLINK sent from the main thread on a plain socket of the netlink package (kernel work runs
    // inside sendmsg, so the event loop waits for it).
    const g3 = g1 + 2;
    const main = await makeGroup(host, g3, 'bz');
    leftovers.push(...main);
    const rt = createRtNetlink();
    const indexes = await Promise.all(main.map(async (n) => (await host.getLink(n)).index));
    const blocking = await stall(async () => {
      for (const index of indexes) await rt.delLink({ index });
    });
    rt.socket.close();
    console.log(
      `baseline: one-by-one DELLINK on the main thread: ${ms(blocking.wall)} wall, longest event-loop stall ${ms(blocking.maxGap)} (histogram max ${ms(blocking.histMax)})`,
    );
  } finally {
    for (const n of leftovers) await host.deleteLink(n, { missingOk: true }).catch(() => undefined);
    for (const ns of created) {
      try {
        deleteNetns(ns);
      } catch {
        // already gone
      }
    }
    host.close();
  }
}

await main();
