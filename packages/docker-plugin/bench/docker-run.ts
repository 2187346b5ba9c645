// `docker run -d` on the plugin's network versus Docker's own bridge network versus --network none,
// interleaved (20 runs each); the plugin's own CreateEndpoint+Join latency with 500 endpoints present; 50
// parallel runs. Prints medians and the ratios the issue sets targets for:
//   plugin / bridge ≤ 0.85, and (plugin − none) / (bridge − none) ≤ 0.25.
// Needs root, dockerd (scripts/ensure-docker.sh) and an OVS with ovs-vswitchd: OCN_OVSDB, e.g. the sandbox.
import { request } from 'node:http';
import { docker, ensureDocker, uniqueName } from '@ovs-container-network/testkit';
import { deleteBridges, startPluginProcess } from '../test/helpers/plugin.js';

const N = 20;
const ENDPOINTS = 500;
const SAMPLES = 100;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

function call(socketPath: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', agent: false }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => {
        data += d.toString();
      });
      res.on('end', () => {
        const parsed = JSON.parse(data || '{}') as Record<string, unknown>;
        if (res.statusCode !== 200) reject(new Error(`${path}: ${String(parsed.Err)}`));
        else resolve(parsed);
      });
    });
    req.on('error', reject);
    req.end(`${JSON.stringify(body)}\n`);
  });
}

async function timeRun(args: string[]): Promise<number> {
  const t0 = performance.now();
  await docker(['run', '-d', ...args, 'local/busybox', 'sleep', '600']);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  await ensureDocker();
  const p = await startPluginProcess({ extraArgs: ['--log-level', 'warn'] });
  const bridge = uniqueName('br');
  const net = uniqueName('nb');
  const userBridge = uniqueName('nu');
  const containers: string[] = [];
  try {
    // A random /16 (a stale Docker network may still hold a fixed one).
    const o2 = 200 + Math.floor(Math.random() * 50);
    await docker([
      'network',
      'create',
      '-d',
      p.name,
      '--subnet',
      `10.${o2}.0.0/16`,
      '-o',
      `bridge=${bridge}`,
      net,
    ]);
    // Docker's own bridge driver twice: the default `bridge` network, and a user-defined bridge network —
    // the fair comparison, since every user-defined network (the plugin's too) gets Docker's embedded DNS
    // resolver, set up inside each container at start; the default bridge has none.
    await docker(['network', 'create', '-d', 'bridge', '--subnet', `10.${o2 - 100}.0.0/16`, userBridge]);
    const kinds = [
      ['plugin', net],
      ['user bridge', userBridge],
      ['default bridge', 'bridge'],
      ['none', 'none'],
    ] as const;
    // Warm-up: the first run of each kind pays one-off costs (image, plugin activation).
    for (const [, n] of kinds) {
      const c = uniqueName('w');
      containers.push(c);
      await timeRun(['--name', c, '--network', n]);
    }
    const times = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
    for (let i = 0; i < N; i++) {
      for (const [kind, n] of kinds) {
        const c = uniqueName('b');
        containers.push(c);
        times.get(kind)?.push(await timeRun(['--name', c, '--network', n]));
      }
    }
    const med = (k: string) => median(times.get(k) ?? []);
    const mn = med('none');
    console.log(`docker run -d, ${N} runs each, interleaved (median):`);
    for (const [k] of kinds) console.log(`  ${k.padEnd(16)} ${ms(med(k))}`);
    const mp = med('plugin');
    for (const b of ['user bridge', 'default bridge']) {
      const mb = med(b);
      console.log(
        `  vs ${b}: plugin / bridge ${(mp / mb).toFixed(2)} (target ≤ 0.85); ` +
          `(plugin − none) / (bridge − none) ${((mp - mn) / (mb - mn)).toFixed(2)} (target ≤ 0.25); ` +
          `attach overhead plugin ${ms(mp - mn)}, bridge ${ms(mb - mn)}`,
      );
    }

    await docker(['rm', '-f', ...containers.splice(0)]);

    // 50 parallel runs on the plugin network.
    const par = Array.from({ length: 50 }, () => uniqueName('p'));
    containers.push(...par);
    const t0 = performance.now();
    const res = await Promise.all(
      par.map((c) =>
        docker(['run', '-d', '--name', c, '--network', net, 'local/busybox', 'sleep', '600'], true),
      ),
    );
    const wall = performance.now() - t0;
    console.log(
      `50 parallel docker run on the plugin network: ${res.filter((r) => r.code === 0).length}/50 ok in ${ms(wall)}`,
    );
    await docker(['rm', '-f', ...containers.splice(0)]);

    // The plugin's own latency, straight to its socket, with 500 endpoints present.
    const netId = `${'bench'.padEnd(60, '0')}${Math.floor(Math.random() * 9999)
      .toString()
      .padStart(4, '0')}`;
    await call(p.socket, '/NetworkDriver.CreateNetwork', {
      NetworkID: netId,
      Options: { 'com.docker.network.generic': { bridge } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.231.0.0/16', Gateway: '10.231.0.1/16' }],
      IPv6Data: [],
    });
    const epId = (i: number) => `${netId.slice(0, 48)}${i.toString(16).padStart(16, '0')}`;
    const addr = (i: number) => `10.231.${(i >> 8) + 1}.${i & 255}/16`;
    for (let i = 0; i < ENDPOINTS; i += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, j) =>
          call(p.socket, '/NetworkDriver.CreateEndpoint', {
            NetworkID: netId,
            EndpointID: epId(i + j),
            Interface: { Address: addr(i + j) },
          }),
        ),
      );
    }
    const lat: number[] = [];
    for (let i = ENDPOINTS; i < ENDPOINTS + SAMPLES; i++) {
      const t1 = performance.now();
      await call(p.socket, '/NetworkDriver.CreateEndpoint', {
        NetworkID: netId,
        EndpointID: epId(i),
        Interface: { Address: addr(i) },
      });
      await call(p.socket, '/NetworkDriver.Join', { NetworkID: netId, EndpointID: epId(i), SandboxKey: '' });
      lat.push(performance.now() - t1);
    }
    console.log(
      `plugin CreateEndpoint+Join with ${ENDPOINTS} endpoints present (${SAMPLES} samples): p50 ${ms(median(lat))}, p99 ${ms(pct(lat, 99))}`,
    );
    for (let i = 0; i < ENDPOINTS + SAMPLES; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, ENDPOINTS + SAMPLES - i) }, (_, j) =>
          call(p.socket, '/NetworkDriver.DeleteEndpoint', { NetworkID: netId, EndpointID: epId(i + j) }),
        ),
      );
    }
    await call(p.socket, '/NetworkDriver.DeleteNetwork', { NetworkID: netId });
  } finally {
    if (containers.length) await docker(['rm', '-f', ...containers], true);
    await docker(['network', 'rm', net], true);
    await docker(['network', 'rm', userBridge], true);
    await p.stop();
    await deleteBridges(p.ovsdb, [bridge]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
