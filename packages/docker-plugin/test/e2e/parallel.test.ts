// 50 `docker run` in parallel on one network: every one succeeds and every container reaches the others
// (each pings its neighbour in a ring and the first one; one TCP transfer).
import { docker, ensureDocker, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  canPingFrom,
  containerIp,
  deleteBridges,
  removeAll,
  settledLeftovers,
  startPluginProcess,
  tcpBetween,
} from '../helpers/plugin.js';

t.test('50 parallel docker run on one network', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  const net = uniqueName('np');
  const names = Array.from({ length: 50 }, () => uniqueName('c'));
  t.teardown(async () => {
    await removeAll(names, [net]);
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
  });
  const o2 = Math.floor(Math.random() * 200) + 20;
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.251.0/24`,
    '-o',
    `bridge=${bridge}`,
    net,
  ]);
  const results = await Promise.all(
    names.map((n) =>
      docker(['run', '-d', '--name', n, '--network', net, 'local/busybox', 'sleep', '3600'], true),
    ),
  );
  const failed = results.filter((r) => r.code !== 0);
  t.equal(failed.length, 0, `all 50 succeed${failed[0] ? ` (first error: ${failed[0].stderr.trim()})` : ''}`);
  const ips = await Promise.all(names.map((n) => containerIp(n, net)));
  t.equal(new Set(ips).size, 50, '50 distinct addresses');
  let reached = 0;
  for (let i = 0; i < 50; i += 10) {
    const batch = await Promise.all(
      names.slice(i, i + 10).map(async (n, j) => {
        const k = i + j;
        const next = ips[(k + 1) % 50] ?? '';
        return (await canPingFrom(n, next, 1)) && (await canPingFrom(n, ips[0] ?? '', 1));
      }),
    );
    reached += batch.filter(Boolean).length;
  }
  t.equal(reached, 50, 'every container reaches its neighbour and the first one');
  t.equal(
    await tcpBetween(names[49] ?? '', names[0] ?? '', ips[0] ?? ''),
    1024 * 1024,
    'TCP between the last and the first',
  );
  await docker(['rm', '-f', ...names]);
  const inspect = JSON.parse((await docker(['network', 'inspect', net])).stdout) as [{ Containers: object }];
  t.same(inspect[0].Containers, {}, 'Docker lists no endpoint on the network');
  const rm = await docker(['network', 'rm', net], true);
  if (rm.code !== 0) {
    // Docker 20.10 keeps a per-network endpoint counter beside the endpoints, and 50 concurrent creates and
    // deletes can leave it above zero with no endpoint left (moby#42119, seen here once in a run of the e2e
    // lanes: no warning in dockerd's log, every DeleteEndpoint answered 200). The network cannot be removed
    // then (scripts/cleanup.sh restarts dockerd at the end of the run to remove it); only that is tolerated,
    // with no endpoint listed above and nothing of ours left below.
    t.match(rm.stderr, /has active endpoints/, `docker network rm: ${rm.stderr.trim()}`);
    t.comment(`Docker's endpoint counter drifted (moby#42119); ${net} stays in Docker`);
  }
  t.same(await settledLeftovers(p), [], 'no leftovers');
});
