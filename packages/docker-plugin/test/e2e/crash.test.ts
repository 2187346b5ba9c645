// The plugin is killed with SIGKILL while 20 containers start in parallel, then restarted: running
// containers keep their connectivity (the datapath never depended on the process), new ones attach, and
// once Docker has settled every port the plugin holds belongs to an endpoint Docker knows — the rest
// (created while Docker's calls failed, never joined or never deleted) is reconciled away.
import { docker, ensureDocker, sleep, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  canPingFrom,
  containerIp,
  deleteBridges,
  leftovers,
  removeAll,
  runContainer,
  settledLeftovers,
  startPluginProcess,
  tcpBetween,
  vsctl,
} from '../helpers/plugin.js';

t.test('SIGKILL while 20 containers start, then restart', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess({ orphanGraceSeconds: 8, reconcileIntervalSeconds: 2 });
  const bridge = uniqueName('br');
  const containers: string[] = [];
  const net = uniqueName('nk');
  t.teardown(async () => {
    await removeAll(containers, [net]);
    await p.stop();
    await deleteBridges(p.ovsdb, [bridge]);
  });
  const o2 = Math.floor(Math.random() * 200) + 20;
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.250.0/24`,
    '-o',
    `bridge=${bridge}`,
    net,
  ]);
  const netId = (await docker(['network', 'inspect', '-f', '{{.Id}}', net])).stdout.trim();
  const r1 = await runContainer(net);
  const r2 = await runContainer(net);
  containers.push(r1, r2);
  const r2ip = await containerIp(r2, net);
  t.ok(await canPingFrom(r1, r2ip), 'before: ping');

  const burst = Array.from({ length: 20 }, () => uniqueName('c'));
  containers.push(...burst);
  const runs = burst.map((name) =>
    docker(['run', '-d', '--name', name, '--network', net, 'local/busybox', 'sleep', '3600'], true),
  );
  await sleep(400);
  await p.kill('SIGKILL');
  t.ok(await canPingFrom(r1, r2ip), 'with the plugin dead, running containers still talk');
  await sleep(500);
  await p.start();
  const results = await Promise.all(runs);
  const ok = results.filter((r) => r.code === 0).length;
  t.comment(`${ok} of 20 docker run succeeded across the crash`);

  t.ok(await canPingFrom(r1, r2ip), 'after restart: ping');
  t.equal(await tcpBetween(r1, r2, r2ip), 1024 * 1024, 'after restart: TCP');
  const n1 = await runContainer(net);
  containers.push(n1);
  t.ok(await canPingFrom(n1, r2ip), 'a new container attaches and reaches an old one');
  const running = [];
  for (const [i, r] of results.entries()) if (r.code === 0) running.push(burst[i] ?? '');
  for (const c of running.slice(0, 3))
    t.ok(await canPingFrom(c, r2ip), `${c}, started across the crash, is connected`);

  // Docker has settled: containers whose start failed are removed; every endpoint port of the plugin must
  // then belong to an endpoint Docker knows (the reconciler removes the others after the grace period).
  const failed = burst.filter((_c, i) => results[i]?.code !== 0);
  if (failed.length) await docker(['rm', '-f', ...failed], true);
  const dockerEndpoints = async () => {
    const { stdout } = await docker([
      'network',
      'inspect',
      '-f',
      '{{range .Containers}}{{.EndpointID}} {{end}}',
      net,
    ]);
    return stdout.trim().split(/\s+/).filter(Boolean).sort();
  };
  const ovsEndpoints = async () => {
    const out = await vsctl(
      p.ovsdb,
      '--columns=external_ids',
      '--format=json',
      'find',
      'Port',
      `external_ids:ocn-network=${netId}`,
      'external_ids:ocn-kind=endpoint',
    );
    const rows = (JSON.parse(out) as { data: [[string, [string, string][]]][] }).data;
    return rows.map((r) => new Map(r[0][1]).get('ocn-endpoint') ?? '').sort();
  };
  await waitFor(
    async () => JSON.stringify(await dockerEndpoints()) === JSON.stringify(await ovsEndpoints()),
    45_000,
    'OVS endpoints to match Docker endpoints',
  );
  t.same(
    await ovsEndpoints(),
    await dockerEndpoints(),
    'no leaked ports: OVS holds exactly Docker’s endpoints',
  );
  const linkCount = (await leftovers(p)).filter((l) => l.startsWith(`link ${p.prefix}h`)).length;
  t.equal(linkCount, (await dockerEndpoints()).length, 'one host veth per endpoint, no more');

  await docker(['rm', '-f', ...containers.splice(0)]);
  await docker(['network', 'rm', net]);
  await waitFor(async () => (await leftovers(p)).length === 0, 20_000, 'no leftovers');
  t.same(await settledLeftovers(p), [], 'nothing left after rm -f and network rm');
  await p.stop();
  t.equal(p.child.exitCode, 0, 'the restarted plugin shuts down cleanly on SIGTERM');
});
