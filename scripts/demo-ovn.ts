// The OVN demo (scripts/demo.sh --ovn): two simulated hosts, each a network namespace with its own OVS,
// ovn-controller, dockerd and the plugin, a central NB and SB (3-member Raft clusters each) and ovn-northd
// (scripts/testkit startOvnEnv). One network spans both hosts; containers on host 1 and host 2 ping, move
// 2 MiB over TCP and find each other by name; two tenants do not reach each other; then what NB holds.
// Everything is torn down at the end, also on failure or Ctrl-C (the testkit's reapers).
import { spawn } from 'node:child_process';
import { DOCKER, type OvnChassis, run, startOvnEnv } from './testkit/dist/index.js';

const bold = (s: string) => `\n\x1b[1m== ${s}\x1b[0m`;
const say = (s: string) => console.log(bold(s));
const fail = (s: string): never => {
  throw new Error(`UNEXPECTED: ${s}`);
};

/** Prints the command as a user on that host would type it, runs it, prints its output. */
async function on(h: OvnChassis, args: string[], allowFail = false) {
  console.log(`host${h.index + 1}$ docker ${args.join(' ')}`);
  const r = await h.docker(args, true);
  const out = (r.stdout + r.stderr).trim();
  if (out) console.log(out);
  if (r.code !== 0 && !allowFail) fail(`docker ${args.join(' ')} exited ${r.code}`);
  return r;
}

const ip = async (h: OvnChassis, c: string, net: string) =>
  (
    await h.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c])
  ).stdout.trim();

const failures: string[] = [];
say('1. Two simulated hosts, NB and SB as 3-member Raft clusters, ovn-northd');
const env = await startOvnEnv({
  chassis: 2,
  nb: 'clustered',
  sb: 'clustered',
  withDocker: true,
  plugin: true,
});
try {
  const [h1, h2] = env.chassis as [OvnChassis, OvnChassis];
  for (const h of env.chassis)
    console.log(
      `host${h.index + 1}: netns ${h.netns}, underlay ${h.encapIp}, chassis ${h.name}, DOCKER_HOST=${h.dockerd?.host}`,
    );
  console.log(`NB: ${env.nb.remote}`);
  console.log(`plugin on each host: ovs-container-network --ovsdb <host's OVS> --ovn-nb <NB members>`);

  say('2. The same network created on both hosts: one logical switch (no KV store)');
  const netArgs = (ls: string, subnet: string, tenant: string) => [
    'network',
    'create',
    '-d',
    'ovs-container-network',
    '--ipam-driver',
    'ovs-container-network',
    '--ipam-opt',
    `logical_switch=${ls}`,
    '--subnet',
    subnet,
    '-o',
    'mode=ovn',
    '-o',
    `logical_switch=${ls}`,
    '-o',
    `tenant_id=${tenant}`,
    ls,
  ];
  for (const h of [h1, h2]) await on(h, netArgs('red', '10.210.10.0/24', 'red'));
  for (const h of [h1, h2]) await on(h, netArgs('blue', '10.210.20.0/24', 'blue'));

  say('3. Containers on both hosts');
  await on(h1, ['run', '-d', '--name', 'red1', '--network', 'red', 'local/busybox', 'sleep', '86400']);
  // The container name does not reach the plugin: it takes the DNS name from --driver-opt dns_name.
  await on(h2, ['create', '--name', 'red2', '--network', 'red', 'local/busybox', 'sleep', '86400']);
  await on(h2, ['network', 'disconnect', 'red', 'red2']);
  await on(h2, ['network', 'connect', '--driver-opt', 'dns_name=red2', 'red', 'red2']);
  await on(h2, ['start', 'red2']);
  await on(h2, ['run', '-d', '--name', 'blue2', '--network', 'blue', 'local/busybox', 'sleep', '86400']);
  const red2 = await ip(h2, 'red2', 'red');
  const blue2 = await ip(h2, 'blue2', 'blue');
  console.log(
    `red1 on host1: ${await ip(h1, 'red1', 'red')}; red2 on host2: ${red2}; blue2 on host2: ${blue2}`,
  );

  say('4. Across hosts: ping, 2 MiB over TCP, a name lookup');
  await on(h1, ['exec', 'red1', 'ping', '-c', '3', '-W', '1', red2]);
  console.log(
    '(This is the first packet between the two hosts: on the userspace datapath OVS resolves the other\n' +
      " host's underlay address for the tunnel only when the first GENEVE packet needs it, and drops that\n" +
      ' packet, so the first echo may go unanswered; later first pings to new containers do not.)',
  );
  // busybox `nc -l` hangs up as soon as its own stdin ends: hold the listener's stdin open (exec -i).
  const listener = spawn(DOCKER, ['exec', '-i', 'red2', 'sh', '-c', 'timeout 15 nc -l -p 5000 | wc -c'], {
    env: { ...process.env, DOCKER_HOST: h2.dockerd?.host ?? '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let received = '';
  listener.stdout.on('data', (d: Buffer) => {
    received += d.toString();
  });
  const done = new Promise((r) => listener.once('exit', r));
  await new Promise((r) => setTimeout(r, 500));
  await on(h1, ['exec', 'red1', 'sh', '-c', `head -c 2097152 /dev/zero | timeout 15 nc ${red2} 5000`], true);
  await Promise.race([done, new Promise((r) => setTimeout(r, 20_000))]);
  listener.stdin.end();
  listener.kill();
  const got = received.trim();
  console.log(`→ TCP: ${got} of 2097152 bytes arrived on host2`);
  if (got !== '2097152') fail(`TCP delivered ${got} bytes`);
  // The demo goes on when the lookup fails (to show isolation and NB), but ends with a failure.
  const look = await on(h1, ['exec', 'red1', 'nslookup', 'red2'], true);
  if (look.code !== 0 || !look.stdout.includes(red2)) {
    console.log(`→ FAILED: host1 could not resolve red2 (on host2, ${red2})`);
    failures.push('name lookup across hosts');
  } else {
    await on(h1, ['exec', 'red1', 'ping', '-c', '2', '-W', '1', 'red2']);
  }

  say('5. Another tenant (blue, on host2): unreachable from red');
  const blocked = await on(h1, ['exec', 'red1', 'ping', '-c', '2', '-W', '1', blue2], true);
  if (blocked.code === 0) fail('red reached blue');
  console.log(`→ no reply from ${blue2}, as intended`);

  say('6. What NB holds (the only state: no KV store, nothing on disk of the plugin)');
  console.log('$ ovn-nbctl show');
  console.log(await env.nbctl('show'));
  console.log('$ ovn-nbctl --columns=name,addresses,external_ids list Logical_Switch_Port  (the endpoints)');
  console.log(
    await env.nbctl(
      '--columns=name,addresses,port_security,external_ids',
      'find',
      'Logical_Switch_Port',
      'type=""',
    ),
  );
  console.log('$ ovn-nbctl --columns=name,match,action list ACL');
  console.log(await env.nbctl('--columns=name,match,action', 'list', 'ACL'));
  const status = await run('ovn-sbctl', [`--db=${env.sb.remote}`, 'show']);
  console.log(`$ ovn-sbctl show\n${status.stdout.trim()}`);
} finally {
  say('7. Tearing everything down');
  await env.stop();
  console.log('containers, dockerds, plugins, OVS, OVN, namespaces and directories removed');
}
if (failures.length) {
  console.error(`\ndemo: these steps FAILED: ${failures.join(', ')}`);
  process.exitCode = 1;
}
