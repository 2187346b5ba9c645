// OVN mode under faults, on two simulated hosts with real dockerds and a 3-member NB Raft cluster: the NB
// leader SIGKILLed during 100 parallel attaches (every one succeeds), a leadership transfer during
// attaches, the plugin SIGKILLed mid-attach, ovn-controller restarted, a host "rebooted" (every process of
// its namespace killed, namespace deleted, everything started again). After each: no stale logical switch
// port, address hold or OVS port, distinct addresses, and containers that were running still talk across
// hosts. Needs root, OVS, OVN and dockerd.
import { sleep, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t, { type Test } from 'tap';
import { createNetwork, ipOf, pings, pool, runOn, settle, startHosts } from '../helpers/ovn-hosts.js';

const env = await startHosts({ hosts: 2, nb: 'clustered' });
t.teardown(() => env.stop());
const [h0, h1] = env.chassis as [(typeof env.chassis)[0], (typeof env.chassis)[0]];
const hosts = [h0, h1];
const o = 20 + Math.floor(Math.random() * 200);
const net = await createNetwork(hosts, { subnet: `10.${o}.0.0/22` });
// A pair that lives through every fault (restart always: it comes back after the reboot).
const p0 = await runOn(h0, net.name, ['--restart', 'always']);
const p1 = await runOn(h1, net.name, ['--restart', 'always']);

/** The long-lived pair still talks both ways (addresses re-read: a reboot gives p1 a new endpoint). */
async function pairTalks(t: Test, after: string): Promise<void> {
  const ip1 = await ipOf(h1, p1, net.name);
  const ip0 = await ipOf(h0, p0, net.name);
  t.ok(await pings(h0, p0, ip1, 3), `${after}: host 0 → host 1 still talks`);
  t.ok(await pings(h1, p1, ip0, 3), `${after}: host 1 → host 0 still talks`);
}

async function clean(t: Test, after: string): Promise<void> {
  t.same(await settle(env, hosts), [], `${after}: no stale logical port, address hold or OVS port`);
}

t.test('NB leader SIGKILLed during 100 parallel attaches: every attach succeeds', async (t) => {
  const jobs = hosts.flatMap((h) => Array.from({ length: 50 }, () => ({ h, name: uniqueName('c') })));
  const leader = await env.nb.leader();
  const runs = Promise.allSettled(jobs.map((j) => runOn(j.h, net.name, [], j.name)));
  await sleep(1500);
  await env.nb.kill(leader);
  const results = await runs;
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${jobs[i]?.name}: ${String(r.reason).slice(0, 1200)}`] : [],
  );
  t.same(failed, [], `all ${jobs.length} docker run succeeded with NB member ${leader} (the leader) killed`);
  const newLeader = await env.nb.leader(20_000);
  t.not(newLeader, leader, `member ${newLeader} leads now`);
  await env.nb.restart(leader);
  const ips = await pool(jobs, 10, (j) => ipOf(j.h, j.name, net.name).catch(() => ''));
  t.equal(new Set(ips.filter(Boolean)).size, jobs.length, 'distinct addresses');
  await pairTalks(t, 'leader killed');
  await pool(jobs, 10, (j) => j.h.docker(['rm', '-f', j.name], true));
  await clean(t, 'leader killed, containers removed');
});

t.test('a leadership transfer during attaches', async (t) => {
  const jobs = hosts.flatMap((h) => Array.from({ length: 10 }, () => ({ h, name: uniqueName('c') })));
  const runs = Promise.allSettled(jobs.map((j) => runOn(j.h, net.name, [], j.name)));
  await sleep(500);
  const moved = await env.nb.transferLeadership();
  t.not(moved.to, moved.from, `leadership moved from member ${moved.from} to ${moved.to}`);
  const failed = (await runs).flatMap((r, i) =>
    r.status === 'rejected' ? [`${jobs[i]?.name}: ${String(r.reason).slice(0, 1200)}`] : [],
  );
  t.same(failed, [], 'every docker run succeeded');
  const ip = await ipOf(h1, jobs[jobs.length - 1]?.name ?? '', net.name);
  t.ok(await pings(h0, jobs[0]?.name ?? '', ip), 'new containers talk across hosts');
  await pairTalks(t, 'leadership transfer');
  await pool(jobs, 10, (j) => j.h.docker(['rm', '-f', j.name], true));
  await clean(t, 'leadership transfer');
});

t.test('the plugin SIGKILLed mid-attach', async (t) => {
  const names = Array.from({ length: 6 }, () => uniqueName('c'));
  const runs = Promise.allSettled(names.map((n) => runOn(h0, net.name, [], n)));
  await sleep(400);
  await h0.plugin?.kill('SIGKILL');
  await sleep(500);
  await h0.startPlugin();
  const results = await runs;
  const ok = names.filter((_, i) => results[i]?.status === 'fulfilled');
  t.comment(`${ok.length} of ${names.length} docker run succeeded across the plugin's SIGKILL`);
  // Docker cleans up the failed ones (DeleteEndpoint, ReleaseAddress); the reconciler the rest.
  await h0.docker(['container', 'prune', '-f'], true);
  await clean(t, 'plugin SIGKILLed');
  const ip1 = await ipOf(h1, p1, net.name);
  for (const n of ok) t.ok(await pings(h0, n, ip1), `${n}, started across the kill, talks to host 1`);
  const fresh = await runOn(h0, net.name);
  t.ok(await pings(h0, fresh, ip1), 'a container started after the restart talks');
  await pairTalks(t, 'plugin SIGKILLed');
  await h0.docker(['rm', '-f', fresh, ...ok], true);
  await clean(t, 'plugin SIGKILLed, containers removed');
});

t.test('ovn-controller restarted', async (t) => {
  await h1.restartController();
  await pairTalks(t, 'ovn-controller restarted');
  const c = await runOn(h1, net.name);
  const ip0 = await ipOf(h0, p0, net.name);
  t.ok(await pings(h1, c, ip0), 'a new container on the restarted chassis talks');
  await h1.docker(['rm', '-f', c]);
  await clean(t, 'ovn-controller restarted');
});

t.test('a simulated host reboot', async (t) => {
  const before = await ipOf(h1, p1, net.name);
  const gone = await runOn(h1, net.name); // no restart policy: it stays down after the reboot
  await h1.reboot();
  await waitFor(
    async () => (await h1.docker(['inspect', '-f', '{{.State.Running}}', p1], true)).stdout.trim() === 'true',
    60_000,
    'the restart-always container to come back',
  );
  const ip1 = await ipOf(h1, p1, net.name);
  const ip0 = await ipOf(h0, p0, net.name);
  t.comment(`p1 was ${before}, now ${ip1}`);
  // Docker gives the restarted container a new random MAC. Were it to get its old address back, p0 would
  // still hold the old MAC in a REACHABLE neighbour entry and send into the void until the entry aged
  // (42.6 s measured once): the plugin's IPAM allocates next-fit, so the address is a fresh one.
  t.not(ip1, before, 'the restarted container does not get its old address back with a new MAC');
  // The chassis' tunnels and the new port's binding must still come up: a few seconds; 15 s allows for a
  // loaded CI machine. How long it took is printed.
  const t0 = Date.now();
  let both = false;
  while (!both && Date.now() - t0 < 15_000)
    both = (await pings(h0, p0, ip1, 1)) && (await pings(h1, p1, ip0, 1));
  t.comment(`the pair talked again ${Date.now() - t0} ms after the restart-always container was running`);
  t.ok(both, 'host rebooted: the restart-always pair talks again across hosts within 15 s');
  await pairTalks(t, 'host rebooted');
  await h1.docker(['rm', '-f', gone], true);
  await clean(t, 'host rebooted');
});
