// Published ports: the plugin versus Docker's bridge driver on the SAME dockerd, a dockerd of its own in a
// namespace with its default firewall (iptables=true, so the bridge publishes with DNAT as on a real host;
// the machine's dockerd runs --iptables=false, where the bridge has only docker-proxy), through
// test/helpers/firewall-host.ts. Interleaved, medians:
//   - `docker run -d -p` latency (container with one published port, until `docker run` returns);
//   - TCP throughput through a published port from an outside namespace (curl downloading 200 MB from
//     busybox httpd in the container);
//   - requests per second through a published port, one short connection per request (a Node HTTP client
//     with 16 connections in flight, in the outside namespace, against busybox httpd).
// Targets (issue 16): latency plugin/bridge ≤ 1.0, throughput plugin/bridge ≥ 0.9. Prints met/missed and
// the load average. Needs root, OVS, dockerd, curl.  Run: pnpm --filter @ovs-container-network/docker-plugin bench:ports
// OCN_BENCH_OVS_OTHER_CONFIG="userspace-tso-enable=true" starts the host's vswitchd with that other_config
// (space-separated k=v): the userspace datapath then moves TSO segments (README, "Throughput").
import { loadavg } from 'node:os';
import { run, uniqueName } from '@ovs-container-network/testkit';
import { otherConfigFromEnv, startFirewallHost } from '../test/helpers/firewall-host.js';
import { createOutside } from '../test/helpers/north-south.js';

const RUNS = Number(process.env.OCN_BENCH_RUNS ?? 8);
const ROUNDS = Number(process.env.OCN_BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const CLIENT = `
const http = require('node:http');
const [host, port, seconds, conc] = process.argv.slice(1);
let done = 0, failed = 0;
const end = Date.now() + Number(seconds) * 1000;
const one = () => new Promise((resolve) => {
  const req = http.get({ host, port: Number(port), path: '/', agent: false }, (res) => {
    res.resume();
    res.on('end', () => { done++; resolve(); });
  });
  req.on('error', () => { failed++; resolve(); });
});
(async () => {
  await Promise.all(Array.from({ length: Number(conc) }, async () => { while (Date.now() < end) await one(); }));
  console.log(JSON.stringify({ rps: done / Number(seconds), failed }));
})();
`;

async function main(): Promise<void> {
  console.log(`load average before: ${load()}`);
  const ovsOtherConfig = otherConfigFromEnv(process.env.OCN_BENCH_OVS_OTHER_CONFIG ?? '');
  console.log(`vswitchd other_config: ${JSON.stringify(ovsOtherConfig)}`);
  // Prometheus metrics of the plugin (inside the host's namespace): where the plugin's share of
  // `docker run` goes, call by call.
  const METRICS = '127.0.0.1:39091';
  const fw = await startFirewallHost({
    pluginArgs: ['--log-level', 'warn', '--metrics', METRICS],
    ovsOtherConfig,
  });
  const { dockerd } = fw;
  const host = { netns: fw.ns };
  const outside = await createOutside(host);
  const nets = { bridge: uniqueName('bb'), plugin: uniqueName('bp') };
  const containers: string[] = [];
  try {
    await dockerd.docker(['network', 'create', '-d', 'bridge', '--subnet', '10.231.1.0/24', nets.bridge]);
    await dockerd.docker([
      'network',
      'create',
      '-d',
      fw.plugin.name,
      '--subnet',
      '10.231.2.0/24',
      nets.plugin,
    ]);
    const serve =
      'mkdir -p /www && echo ok > /www/index.html && head -c 200000000 /dev/zero > /www/big && touch /ready && exec httpd -f -p 80 -h /www';

    // 1. docker run -d -p latency, interleaved.
    const lat: Record<'bridge' | 'plugin', number[]> = { bridge: [], plugin: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const kind of ['bridge', 'plugin'] as const) {
        const name = uniqueName('bl');
        const t0 = performance.now();
        await dockerd.docker([
          'run',
          '-d',
          '--name',
          name,
          '--network',
          nets[kind],
          '-p',
          `${30000 + i}:80`,
          'local/busybox',
          'sleep',
          '600',
        ]);
        lat[kind].push(performance.now() - t0);
        await dockerd.docker(['rm', '-f', name]);
      }
    }

    // The plugin's time per Docker call during those runs (mean of the metrics' histogram).
    const metrics = await run('ip', ['netns', 'exec', fw.ns, 'curl', '-s', `http://${METRICS}/metrics`], {
      allowFail: true,
    });
    const sums = new Map<string, { sum: number; count: number }>();
    for (const m of metrics.stdout.matchAll(
      /^ocn_plugin_call_duration_seconds_(sum|count)\{call="([^"]+)"\} ([0-9.e+-]+)$/gm,
    )) {
      const e = sums.get(m[2] ?? '') ?? { sum: 0, count: 0 };
      e[m[1] === 'sum' ? 'sum' : 'count'] = Number(m[3]);
      sums.set(m[2] ?? '', e);
    }
    let perRun = 0;
    for (const [call, e] of sums) {
      if (e.count === 0) continue;
      perRun += e.sum / RUNS;
      console.log(
        `  plugin ${call.padEnd(40)} ${String(e.count).padStart(4)} calls, mean ${((e.sum / e.count) * 1000).toFixed(1)} ms`,
      );
    }
    console.log(`  plugin time per docker run + rm (sum of its calls): ${(perRun * 1000).toFixed(1)} ms`);

    // 2 and 3. One server per driver, published on its own port.
    const port = { bridge: 31001, plugin: 31002 };
    for (const kind of ['bridge', 'plugin'] as const) {
      const name = uniqueName('bs');
      containers.push(name);
      await dockerd.docker([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        nets[kind],
        '-p',
        `${port[kind]}:80`,
        'local/busybox',
        'sh',
        '-c',
        serve,
      ]);
    }
    for (const name of containers) {
      for (let i = 0; i < 300; i++) {
        if ((await dockerd.docker(['exec', name, 'test', '-e', '/ready'], true)).code === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const thr: Record<'bridge' | 'plugin', number[]> = { bridge: [], plugin: [] };
    const rps: Record<'bridge' | 'plugin', number[]> = { bridge: [], plugin: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of ['bridge', 'plugin'] as const) {
        const r = await run(
          'ip',
          [
            'netns',
            'exec',
            outside.ns,
            'curl',
            '-s',
            '-o',
            '/dev/null',
            '-w',
            '%{speed_download}',
            `http://${outside.hostV4}:${port[kind]}/big`,
          ],
          { timeoutMs: 120_000 },
        );
        thr[kind].push((Number(r.stdout) * 8) / 1e9);
        const c = await run(
          'ip',
          [
            'netns',
            'exec',
            outside.ns,
            process.execPath,
            '-e',
            CLIENT,
            outside.hostV4,
            String(port[kind]),
            '4',
            '16',
          ],
          { timeoutMs: 60_000 },
        );
        const parsed = JSON.parse(c.stdout) as { rps: number; failed: number };
        if (parsed.failed > 0) console.log(`  (${kind}: ${parsed.failed} requests failed)`);
        rps[kind].push(parsed.rps);
      }
    }

    const row = (what: string, unit: string, b: number, p: number, target: string, met: boolean) =>
      console.log(
        `${what.padEnd(34)} bridge ${b.toFixed(2).padStart(8)} ${unit.padEnd(6)} plugin ${p.toFixed(2).padStart(8)} ${unit.padEnd(6)} plugin/bridge ${(p / b).toFixed(2)}  target ${target}: ${met ? 'met' : 'MISSED'}`,
      );
    console.log(`\nruns: ${RUNS} docker run per driver, ${ROUNDS} rounds of traffic per driver; medians`);
    const lb = median(lat.bridge);
    const lp = median(lat.plugin);
    row('docker run -d -p latency', 'ms', lb, lp, '≤ 1.0', lp / lb <= 1.0);
    const tb = median(thr.bridge);
    const tp = median(thr.plugin);
    row('TCP throughput (outside → port)', 'Gbit/s', tb, tp, '≥ 0.9', tp / tb >= 0.9);
    const rb = median(rps.bridge);
    const rp = median(rps.plugin);
    row('requests/s, 1 connection each', 'req/s', rb, rp, '≥ 0.9', rp / rb >= 0.9);
    console.log(`load average after: ${load()}`);
  } finally {
    await dockerd.docker(['rm', '-f', ...containers], true);
    for (const n of Object.values(nets)) await dockerd.docker(['network', 'rm', n], true);
    await outside.remove();
    await fw.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
