// The testkit's simulated hosts with a dockerd each (scripts/testkit/src/dockerd.ts), checked on the real
// thing: each chassis' dockerd runs busybox containers on a plain bridge network inside the chassis
// namespace; the plugin started in a chassis (startPlugin) is found by that chassis' dockerd under the
// usual driver name through its private /run/docker/plugins; a "power cut" (kill) takes every container
// with it and start() brings `--restart always` ones back; and teardown leaves no namespace, mount,
// process, cgroup or directory behind. Needs root, OVS and OVN (CI runs it as root).
import { readdirSync, readFileSync } from 'node:fs';
import { run, startOvnEnv, startPlugin, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';

const env = await startOvnEnv({ chassis: 2, withDocker: true });
t.teardown(() => env.stop());
const [a, b] = env.chassis as [(typeof env.chassis)[0], (typeof env.chassis)[0]];
const dirs = env.chassis.map((c) => c.dockerd?.dir ?? '');

t.test('each chassis has its own dockerd, inside its namespace', async (t) => {
  t.ok(a.dockerd && b.dockerd, 'both chassis have a dockerd');
  t.not(a.dockerd?.socket, b.dockerd?.socket, 'distinct sockets');
  const pid = a.dockerd?.pid ?? 0;
  const [own, root] = await Promise.all([
    run('readlink', [`/proc/${pid}/ns/net`]),
    run('readlink', [`/run/netns/${a.netns}`], { allowFail: true }),
  ]);
  const nsIno = (await run('stat', ['-L', '-c', '%i', `/run/netns/${a.netns}`])).stdout.trim();
  t.equal(own.stdout.trim(), `net:[${nsIno}]`, 'dockerd lives in the chassis namespace');
  t.ok(root, 'namespace file exists');
  const images = (await a.docker(['images', '--format', '{{.Repository}}'])).stdout;
  t.match(images, /local\/busybox/, 'local/busybox imported');
  const bImages = (await b.docker(['ps', '-aq'])).stdout.trim();
  t.equal(bImages, '', 'the other host has no containers');
});

t.test('busybox containers on a plain bridge network talk', async (t) => {
  const net = uniqueName('n');
  await a.docker(['network', 'create', '--driver', 'bridge', '--subnet', '10.231.7.0/24', net]);
  await a.docker(['run', '-d', '--name', 'ocntc1', '--network', net, 'local/busybox', 'sleep', '3600']);
  await a.docker(['run', '-d', '--name', 'ocntc2', '--network', net, 'local/busybox', 'sleep', '3600']);
  const ip2 = (
    await a.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, 'ocntc2'])
  ).stdout.trim();
  t.match(ip2, /^10\.231\.7\./, 'address from the network');
  const ping = await a.docker(['exec', 'ocntc1', 'ping', '-c', '2', '-W', '1', ip2], true);
  t.equal(ping.code, 0, 'container pings container on the same bridge network');
  // The bridge is in the chassis namespace, not the root one.
  const links = (await run('ip', ['-n', a.netns, '-o', 'link', 'show', 'type', 'bridge'])).stdout;
  t.match(links, /br-/, 'the network bridge is in the chassis namespace');
  const rootLinks = (await run('ip', ['-o', 'link', 'show'])).stdout;
  t.notOk(
    rootLinks.includes(
      `br-${(await a.docker(['network', 'inspect', '-f', '{{.Id}}', net])).stdout.trim().slice(0, 12)}`,
    ),
    'no bridge in the root namespace',
  );
});

t.test('the plugin in a chassis is found by that chassis dockerd under the usual name', async (t) => {
  const d = a.dockerd;
  if (!d) throw new Error('no dockerd');
  const p = await startPlugin({ netns: a.netns, ovsdb: a.endpoint, pluginDir: d.pluginDir });
  t.teardown(() => p.stop());
  t.equal(p.name, 'ovs-container-network');
  const net = uniqueName('n');
  const bridge = uniqueName('br');
  await a.docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    '10.231.8.0/24',
    '-o',
    `bridge=${bridge}`,
    net,
  ]);
  await a.docker(['run', '-d', '--name', 'ocntp1', '--network', net, 'local/busybox', 'sleep', '3600']);
  const ports = await a.vsctl('list-ports', bridge);
  t.match(ports, new RegExp(p.prefix), 'the endpoint is a port on the chassis OVS bridge');
  await a.docker(['rm', '-f', 'ocntp1']);
  await a.docker(['network', 'rm', net]);
  await a.vsctl('--if-exists', 'del-br', bridge);
});

t.test('a power cut kills every container; start() brings back --restart always', async (t) => {
  await a.docker(['run', '-d', '--restart', 'always', '--name', 'ocntr1', 'local/busybox', 'sleep', '3600']);
  const before = (await a.docker(['inspect', '-f', '{{.State.Pid}}', 'ocntr1'])).stdout.trim();
  t.ok(Number(before) > 0, 'container running');
  await a.dockerd?.kill();
  t.notOk(await alive(Number(before)), 'the container process died with the daemon');
  await a.dockerd?.start();
  const after = await waitFor(
    async () => {
      const r = await a.docker(['inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'ocntr1'], true);
      return r.stdout.startsWith('true') ? r.stdout.trim() : '';
    },
    30_000,
    'the restart-always container to come back',
  );
  t.not(after.split(' ')[1], before, 'a new container process');
});

t.test('teardown leaves nothing behind', async (t) => {
  const namespaces = [env.underlay, ...env.chassis.map((c) => c.netns)];
  await env.stop();
  const netns = (await run('ip', ['netns', 'list'])).stdout;
  for (const ns of namespaces) t.notOk(netns.includes(ns), `namespace ${ns} removed`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const d of dirs) {
    t.notOk(mounts.includes(d), `no mount under ${d}`);
    const procs = (await run('pgrep', ['-f', `${d}/`], { allowFail: true })).stdout.trim();
    t.equal(procs, '', `no process mentions ${d}`);
    t.notOk(existsDir(d), `${d} removed`);
    const cg = `ocnt-dk-${d.slice('/run/ocnt-dk-'.length)}`;
    t.notOk(readdirSync('/sys/fs/cgroup/pids').includes(cg), `cgroup ${cg} removed`);
  }
  t.notOk(existsDir(env.dir), 'env directory removed');
});

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

function existsDir(d: string): boolean {
  try {
    readdirSync(d);
    return true;
  } catch {
    return false;
  }
}
