// OVN mode under concurrency: two simulated hosts (own dockerd + plugin each) start 50 containers each, all
// 100 `docker run` at once, on one network spanning both. NB is the only IPAM: the 100 addresses must be
// distinct, every container reachable from both hosts, and nothing stale once they are removed. Needs root,
// OVS, OVN and dockerd.
import { uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  createNetwork,
  execIn,
  ipOf,
  nbPorts,
  pool,
  runOn,
  settle,
  startHosts,
} from '../helpers/ovn-hosts.js';

const PER_HOST = 50;
const env = await startHosts({ hosts: 2 });
t.teardown(() => env.stop());
const hosts = env.chassis;
const o = 20 + Math.floor(Math.random() * 200);
const net = await createNetwork(hosts, { subnet: `10.${o}.0.0/22` });

t.test(`2 hosts × ${PER_HOST} parallel docker run: distinct addresses, full reachability`, async (t) => {
  const jobs = hosts.flatMap((h) => Array.from({ length: PER_HOST }, () => ({ h, name: uniqueName('c') })));
  const started = Date.now();
  const results = await Promise.allSettled(jobs.map((j) => runOn(j.h, net.name, [], j.name)));
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${jobs[i]?.name}: ${String(r.reason).slice(0, 1200)}`] : [],
  );
  // On a failure, also what each plugin logged (it runs at --log-level warn): the docker error alone may not
  // say which step gave up.
  const pluginLogs = failed.length ? hosts.map((h) => (h.plugin?.logs ?? []).slice(-15)) : undefined;
  t.same(failed, [], `every docker run succeeded (${Date.now() - started} ms for ${jobs.length})`, {
    pluginLogs,
  });
  const ips = await pool(jobs, 10, (j) => ipOf(j.h, j.name, net.name));
  t.equal(new Set(ips).size, jobs.length, `${jobs.length} distinct addresses`);
  t.ok(
    ips.every((ip) => ip.startsWith(`10.${o}.`)),
    'all from the subnet',
  );
  // From one container on each host, ping all 100 (half of them across the overlay) at once.
  for (const h of hosts) {
    const from = jobs.find((j) => j.h === h)?.name ?? '';
    const script = `for ip in ${ips.join(' ')}; do (ping -c 3 -W 2 $ip >/dev/null 2>&1 || echo FAIL $ip) & done; wait`;
    const r = await execIn(h, from, ['sh', '-c', script]);
    t.equal(r.stdout.trim(), '', `host ${h.index}: every container answers`);
  }
  await pool(jobs, 10, (j) => j.h.docker(['rm', '-f', j.name], true));
  t.same(await settle(env, hosts), [], 'removed: no stale logical port, address or OVS port');
  const left = (await nbPorts(env))
    .filter((l) => l.externalIds['ocn-endpoint'] !== undefined || l.externalIds['ocn-hold'] !== undefined)
    .map((l) => l.name);
  t.same(left, [], 'no endpoint port or address hold left in NB');
});
