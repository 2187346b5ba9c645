// Benchmark: adding and removing N DNAT rules (one published TCP port each: `meta nfproto ipv4 ip daddr
// 192.0.2.1 tcp dport P counter dnat ip to 10.0.0.2:80`) in a fresh namespace, four ways, in one run:
//   lib batch     this package, all N rules in one batch (one transaction), deleted in one batch by handle
//   lib no echo   the same without NLM_F_ECHO (as `nft -f`: no handles come back; listed before deleting)
//   lib per rule  this package, one batch (commit) per rule, deleted one batch per rule
//   nft -f        one `nft -f` of N `add rule` lines, then one `nft -f` of N `delete rule … handle H`
//   nft per call  one `nft add rule …` process per rule, one `nft delete rule … handle H` per rule
// Prints the median of ROUNDS rounds per way and the ratios against the `nft -f` baseline.
//
//   pnpm --filter @ovs-container-network/netlink bench:nft     (root; N=200 ROUNDS=5 by default)
import { performance } from 'node:perf_hooks';
import { nsExec, run, uniqueName } from '@ovs-container-network/testkit';
import { createNetns, deleteNetns } from '../src/index.js';
import {
  type FirewallRuleRef,
  NftBatch,
  NftFirewall,
  openNftHandle,
  publishedPortRules,
} from '../src/nftables.js';

const N = Number(process.env.N ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TABLE = 'ocn-bench';
const PORT0 = 20000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const ruleText = (i: number): string =>
  `meta nfproto ipv4 ip daddr 192.0.2.1 tcp dport ${PORT0 + i} counter dnat ip to 10.0.0.2:80`;
const rules = (): ReturnType<typeof publishedPortRules> =>
  Array.from({ length: N }, (_, i) =>
    publishedPortRules({
      proto: 'tcp',
      hostIp: '192.0.2.1',
      hostPort: PORT0 + i,
      containerIp: '10.0.0.2',
      containerPort: 80,
      chains: ['prerouting'],
      forward: false,
      hairpin: false,
    }),
  ).flat();

async function nftHandles(ns: string): Promise<number[]> {
  const { stdout } = await nsExec(ns, 'nft', ['-j', '-a', 'list', 'chain', 'inet', TABLE, 'prerouting']);
  const items = (JSON.parse(stdout) as { nftables: { rule?: { handle: number } }[] }).nftables;
  return items.flatMap((i) => (i.rule === undefined ? [] : [i.rule.handle]));
}

async function countRules(ns: string): Promise<number> {
  return (await nftHandles(ns)).length;
}

async function main(): Promise<void> {
  const ns = uniqueName('bnf');
  createNetns(ns);
  const h = openNftHandle({ name: ns });
  const fw = new NftFirewall(h, { table: TABLE });
  const times: Record<string, { add: number[]; del: number[] }> = {};
  let warm = false;
  const record = (way: string, add: number, del: number): void => {
    if (!warm) return;
    times[way] ??= { add: [], del: [] };
    times[way].add.push(add);
    times[way].del.push(del);
  };
  const check = async (want: number, way: string): Promise<void> => {
    const got = await countRules(ns);
    if (got !== want) throw new Error(`${way}: ${got} rules in the chain, expected ${want}`);
  };
  try {
    await fw.ensure();
    const built = rules();
    // Round 0 warms up (JIT, the kernel's NAT modules on first use) and is not recorded.
    for (let round = 0; round <= ROUNDS; round++) {
      // lib batch
      let t0 = performance.now();
      const refs = await fw.add(built);
      let t1 = performance.now();
      await check(N, 'lib batch');
      let t2 = performance.now();
      await fw.delete(refs);
      let t3 = performance.now();
      await check(0, 'lib batch delete');
      record('lib batch', t1 - t0, t3 - t2);

      // lib batch without NLM_F_ECHO (what nft -f does: no handles back); handles listed afterwards
      t0 = performance.now();
      const nb = new NftBatch();
      for (const r of built)
        nb.addRule({ family: 'inet', table: TABLE, chain: r.chain, expressions: r.expressions });
      await h.commit(nb, { echo: false });
      t1 = performance.now();
      const listed = await fw.list();
      if (listed.length !== N) throw new Error(`lib batch, no echo: ${listed.length} rules`);
      t2 = performance.now();
      await fw.delete(listed);
      t3 = performance.now();
      await check(0, 'lib batch, no echo delete');
      record('lib no echo', t1 - t0, t3 - t2);

      // lib per rule
      t0 = performance.now();
      const one: FirewallRuleRef[] = [];
      for (const r of built) one.push(...(await fw.add([r])));
      t1 = performance.now();
      await check(N, 'lib per rule');
      t2 = performance.now();
      for (const r of one) await fw.delete([r]);
      t3 = performance.now();
      await check(0, 'lib per rule delete');
      record('lib per rule', t1 - t0, t3 - t2);

      // nft -f
      const addFile = Array.from(
        { length: N },
        (_, i) => `add rule inet ${TABLE} prerouting ${ruleText(i)}`,
      ).join('\n');
      t0 = performance.now();
      await nsExec(ns, 'sh', ['-c', `nft -f - <<'EOF'\n${addFile}\nEOF`]);
      t1 = performance.now();
      const handles = await nftHandles(ns);
      if (handles.length !== N) throw new Error(`nft -f: ${handles.length} rules`);
      const delFile = handles.map((x) => `delete rule inet ${TABLE} prerouting handle ${x}`).join('\n');
      t2 = performance.now();
      await nsExec(ns, 'sh', ['-c', `nft -f - <<'EOF'\n${delFile}\nEOF`]);
      t3 = performance.now();
      await check(0, 'nft -f delete');
      record('nft -f', t1 - t0, t3 - t2);

      // nft per call
      t0 = performance.now();
      for (let i = 0; i < N; i++) {
        await run('ip', [
          'netns',
          'exec',
          ns,
          'nft',
          'add',
          'rule',
          'inet',
          TABLE,
          'prerouting',
          ...ruleText(i).split(' '),
        ]);
      }
      t1 = performance.now();
      const hs = await nftHandles(ns);
      if (hs.length !== N) throw new Error(`nft per call: ${hs.length} rules`);
      t2 = performance.now();
      for (const x of hs) {
        await run('ip', [
          'netns',
          'exec',
          ns,
          'nft',
          'delete',
          'rule',
          'inet',
          TABLE,
          'prerouting',
          'handle',
          String(x),
        ]);
      }
      t3 = performance.now();
      await check(0, 'nft per call delete');
      record('nft per call', t1 - t0, t3 - t2);
      warm = true;
    }
  } finally {
    h.close();
    deleteNetns(ns);
  }
  const base = times['nft -f'] as { add: number[]; del: number[] };
  const baseAdd = median(base.add);
  const baseDel = median(base.del);
  console.log(`N=${N} DNAT rules, ${ROUNDS} rounds, medians; ratio = time / nft -f time (lower is faster)`);
  console.log('way            add ms   ratio   delete ms   ratio');
  for (const [way, t] of Object.entries(times)) {
    const a = median(t.add);
    const d = median(t.del);
    console.log(
      `${way.padEnd(14)} ${a.toFixed(1).padStart(7)}  ${(a / baseAdd).toFixed(3).padStart(6)}   ${d.toFixed(1).padStart(9)}  ${(d / baseDel).toFixed(3).padStart(6)}`,
    );
  }
}

await main();
