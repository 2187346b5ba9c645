// Benchmark: blocking requests (the handle's link deletes) on a detached thread each (this package's addon)
// against libuv's pool (the addon before that change, given with --old-addon PATH) and `ip link del`, side
// by side in one run, rounds in A B B A order:
//   overhead:   2,000 requests the kernel answers at once (RTM_GETLINK lo + ACK), one after another, on one
//               blocking socket: what a thread per request costs over a pool thread (µs per request);
//   sequential: 20 veth deletes one after another (each waits out the kernel's RCU barrier);
//   concurrent: 20 veth deletes at once on 6 blocking sockets (the plugin's REAPER_SLOTS), wall time.
//
//   pnpm --filter @ovs-container-network/netlink bench:blocking [-- --old-addon /path/ocn_netlink.node]   (root)
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { run, uniqueName } from '@ovs-container-network/testkit';
import { type NativeAddon, native } from '../src/native.js';
import { ifinfomsg, linkSelector, NLM_F, nlmsg, RTM } from '../src/wire.js';

const { values } = parseArgs({ options: { 'old-addon': { type: 'string' }, rounds: { type: 'string' } } });
const ROUNDS = Number(values.rounds ?? '2');
const OVERHEAD_N = 2_000;
const LINKS = 20;
const SLOTS = 6;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Side {
  name: string;
  overhead?: () => Promise<number>;
  sequential: (names: string[]) => Promise<number[]>;
  concurrent: (names: string[]) => Promise<number>;
}

let seq = 1;
function addonSide(name: string, addon: NativeAddon): Side {
  const fds = Array.from({ length: SLOTS }, () => addon.routeSocket());
  const transact = async (fd: number, type: number, payload: Buffer): Promise<void> => {
    const errno = await addon.nlTransact(fd, nlmsg(type, NLM_F.REQUEST | NLM_F.ACK, seq++, payload));
    if (errno !== 0) throw new Error(`${name}: errno ${errno}`);
  };
  const del = (fd: number, n: string) => transact(fd, RTM.DELLINK, linkSelector({ name: n }));
  return {
    name,
    overhead: async () => {
      const lo = ifinfomsg({ index: 1 });
      const t0 = performance.now();
      for (let i = 0; i < OVERHEAD_N; i++) await transact(fds[0] as number, RTM.GETLINK, lo);
      return ((performance.now() - t0) * 1000) / OVERHEAD_N;
    },
    sequential: async (names) => {
      const out: number[] = [];
      for (const n of names) {
        const t0 = performance.now();
        await del(fds[0] as number, n);
        out.push(performance.now() - t0);
      }
      return out;
    },
    concurrent: async (names) => {
      const queue = [...names];
      const t0 = performance.now();
      await Promise.all(
        fds.map(async (fd) => {
          for (let n = queue.shift(); n !== undefined; n = queue.shift()) await del(fd, n);
        }),
      );
      return performance.now() - t0;
    },
  };
}

const ipSide: Side = {
  name: 'ip link del',
  sequential: async (names) => {
    const out: number[] = [];
    for (const n of names) {
      const t0 = performance.now();
      await run('ip', ['link', 'del', n]);
      out.push(performance.now() - t0);
    }
    return out;
  },
  concurrent: async (names) => {
    const t0 = performance.now();
    await Promise.all(names.map((n) => run('ip', ['link', 'del', n])));
    return performance.now() - t0;
  },
};

async function makeVeths(): Promise<string[]> {
  const names = Array.from({ length: LINKS }, () => uniqueName('bb'));
  await run('ip', ['-batch', '-'], {
    input: names.map((n) => `link add ${n} type veth peer name ${n}p\n`).join(''),
  });
  return names;
}

const sides: Side[] = [addonSide('thread (this addon)', native())];
if (values['old-addon'] !== undefined) {
  const old = createRequire(import.meta.url)(values['old-addon']) as NativeAddon;
  sides.push(addonSide('libuv pool (--old-addon)', old));
}
sides.push(ipSide);

const results = new Map<string, { overhead: number[]; seq: number[]; conc: number[] }>(
  sides.map((s) => [s.name, { overhead: [], seq: [], conc: [] }]),
);
const made: string[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const res = results.get(s.name)!;
      if (s.overhead) res.overhead.push(await s.overhead());
      const a = await makeVeths();
      made.push(...a);
      const sq = await s.sequential(a);
      res.seq.push(...sq);
      if (process.env.BENCH_VERBOSE)
        console.log(`round ${r} ${s.name}: sequential p50 ${median(sq).toFixed(2)} ms`);
      const b = await makeVeths();
      made.push(...b);
      res.conc.push(await s.concurrent(b));
    }
  }
} finally {
  for (const n of made) await run('ip', ['link', 'del', n], { allowFail: true });
}

const base = results.get(sides[0]!.name)!;
console.log(
  `\nblocking requests, ${ROUNDS} rounds (A B B A), ${LINKS} veths per phase, ${SLOTS} sockets concurrent`,
);
console.log('| side | per answered request | delete, sequential p50 | 20 deletes at once, median wall |');
console.log('|---|---|---|---|');
for (const s of sides) {
  const r = results.get(s.name)!;
  const oh = r.overhead.length > 0 ? `${median(r.overhead).toFixed(1)} µs` : '–';
  const ratio = (x: number, y: number) => (s === sides[0] ? '' : ` (${(x / y).toFixed(2)}× thread)`);
  console.log(
    `| ${s.name} | ${oh}${r.overhead.length > 0 ? ratio(median(r.overhead), median(base.overhead)) : ''} | ${median(r.seq).toFixed(2)} ms${ratio(median(r.seq), median(base.seq))} | ${median(r.conc).toFixed(1)} ms${ratio(median(r.conc), median(base.conc))} |`,
  );
}
