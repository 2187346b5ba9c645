// OVN mode north–south on two simulated hosts with real dockerds (issue 16, "OVN mode"): containers on an
// OVN network reach a server on the LAN (the underlay namespace, standing in for it) through their own
// chassis' gateway router, SNATed so that the server sees the host's address; `-o masquerade=false` turns
// that off. Published ports (`-p`, TCP and UDP, a range) go through a load balancer on that gateway router:
// reached from the LAN, from the host's own 127.0.0.1 (the in-process proxy) and from containers on either
// host; a taken port is refused; everything is gone after `docker rm -f` and after a plugin SIGKILL plus
// restart; tenants stay apart. Needs root, OVS, OVN and dockerd.
import { spawn } from 'node:child_process';
import { uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  createNetwork,
  execIn,
  ipOf,
  nbDump,
  pings,
  run,
  runOn,
  settle,
  startHosts,
} from '../helpers/ovn-hosts.js';

const t0 = Date.now();
const env = await startHosts({ hosts: 2 });
t.teardown(() => env.stop());
const [h0, h1] = env.chassis as [(typeof env.chassis)[0], (typeof env.chassis)[0]];
const o = 20 + Math.floor(Math.random() * 200);
const LAN = '10.99.0.250';
const lan = (cmd: string, args: string[], allowFail = true) =>
  run('ip', ['netns', 'exec', env.underlay, cmd, ...args], { allowFail });
await run('ip', ['-n', env.underlay, 'addr', 'add', `${LAN}/24`, 'dev', 'ocntbr']);
const inHost = (h: typeof h0, cmd: string, args: string[]) =>
  run('nsenter', [`--net=/run/netns/${h.netns}`, '--', cmd, ...args], { allowFail: true });

/** A one-connection TCP server on the LAN that answers with the peer address it saw (once listening). */
async function peerServer(port: number): Promise<{ seen: Promise<string> }> {
  const py = `import socket, sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${LAN}",${port})); s.listen(1); s.settimeout(15)
print("ready", flush=True)
try:
  c,a=s.accept(); c.sendall((a[0]+"\\n").encode()); print(a[0], flush=True); c.close()
except Exception as e: print("none", flush=True)`;
  const p = spawn('ip', ['netns', 'exec', env.underlay, 'python3', '-c', py], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((r) => {
    ready = r;
  });
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) ready();
  });
  const seen = new Promise<string>((r) => p.once('exit', () => r(out.replace('ready', '').trim())));
  await Promise.race([listening, seen]);
  return { seen };
}

const tenant = uniqueName('tn').replace(/^ocnt/, 't');
const net = await createNetwork([h0, h1], { subnet: `10.${o}.1.0/24`, tenant });
const a0 = await runOn(h0, net.name);
const b1 = await runOn(h1, net.name);

t.test('outbound: a container reaches the LAN, SNATed to its own host', async (t) => {
  for (const [h, c] of [
    [h0, a0],
    [h1, b1],
  ] as const) {
    const port = 7000 + Math.floor(Math.random() * 1000);
    const { seen } = await peerServer(port);
    const r = await execIn(h, c, ['sh', '-c', `echo x | timeout 10 nc ${LAN} ${port}`]);
    t.equal(r.stdout.trim(), h.encapIp, `host ${h.index}: the answer came back (${r.stderr.trim()})`);
    t.equal(await seen, h.encapIp, `host ${h.index}: the server saw the host's address ${h.encapIp}`);
  }
  const nb = await env.nbctl('--bare', '--columns=external_ids', 'list', 'Logical_Router');
  for (const h of [h0, h1]) t.match(nb, `ocn-chassis=${h.name}`, `a gateway router of chassis ${h.name}`);
});

t.test('masquerade=false: no SNAT', async (t) => {
  const plain = await createNetwork([h0], { subnet: `10.${o}.2.0/24`, tenant, masquerade: false });
  const c = await runOn(h0, plain.name);
  const port = 7000 + Math.floor(Math.random() * 1000);
  const { seen } = await peerServer(port);
  await execIn(h0, c, ['sh', '-c', `echo x | timeout 4 nc ${LAN} ${port}`]);
  await lan('python3', ['-c', `import socket; socket.create_connection(("${LAN}",${port}),2)`]);
  t.not(await seen, h0.encapIp, 'the server never saw the host address from it');
  await h0.docker(['rm', '-f', c]);
});

t.test('published ports: LAN, 127.0.0.1, containers on both hosts; taken port refused', async (t) => {
  const web = uniqueName('web');
  await h0.docker([
    'run',
    '-d',
    '--name',
    web,
    '--network',
    net.name,
    '-p',
    '18080:8080',
    '-p',
    '127.0.0.1:18081:8080',
    '-p',
    '18090-18095:9090/udp',
    'local/busybox',
    'sh',
    '-c',
    'mkdir -p /w && echo hello > /w/index.html && httpd -f -p 8080 -h /w',
  ]);
  // `docker port` shows nothing for any remote driver (README: moby/libnetwork#2451); what the plugin
  // answers in EndpointOperInfo, in Docker's shape, is what it can do.
  const netId = (await h0.docker(['network', 'inspect', '-f', '{{.Id}}', net.name])).stdout.trim();
  const epId = (
    await h0.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net.name}").EndpointID}}`, web])
  ).stdout.trim();
  const info = await run('curl', [
    '-s',
    '--unix-socket',
    h0.plugin?.socket ?? '',
    '-X',
    'POST',
    '-d',
    JSON.stringify({ NetworkID: netId, EndpointID: epId }),
    'http://p/NetworkDriver.EndpointOperInfo',
  ]);
  const map = (JSON.parse(info.stdout).Value?.['com.docker.network.portmap'] ?? []) as {
    Proto: number;
    Port: number;
    HostIP: string;
    HostPort: number;
  }[];
  const has = (p: number, port: number, ip: string, hp: (n: number) => boolean) =>
    map.some((b) => b.Proto === p && b.Port === port && b.HostIP === ip && hp(b.HostPort));
  t.ok(
    has(6, 8080, '', (n) => n === 18080),
    `EndpointOperInfo: 8080/tcp on 18080 (${info.stdout})`,
  );
  t.ok(
    has(6, 8080, '127.0.0.1', (n) => n === 18081),
    'EndpointOperInfo: the loopback binding',
  );
  t.ok(
    has(17, 9090, '', (n) => n >= 18090 && n <= 18095),
    'EndpointOperInfo: one port of the UDP range',
  );
  const url = `http://${h0.encapIp}:18080/`;
  const fromLan = await waitFor(
    async () => (await lan('curl', ['-s', '-m', '3', url])).stdout.includes('hello'),
    20_000,
    'published port from the LAN',
  ).catch(() => false);
  t.ok(fromLan, `from the LAN: ${url}`);
  const loop = await inHost(h0, 'curl', ['-s', '-m', '3', 'http://127.0.0.1:18080/']);
  t.match(loop.stdout, 'hello', "from the host's own 127.0.0.1 (the plugin's proxy)");
  const loop2 = await inHost(h0, 'curl', ['-s', '-m', '3', 'http://127.0.0.1:18081/']);
  t.match(loop2.stdout, 'hello', 'a 127.0.0.1-only binding');
  const lan2 = await lan('curl', ['-s', '-m', '3', `http://${h0.encapIp}:18081/`]);
  t.notMatch(lan2.stdout, 'hello', 'the 127.0.0.1-only binding is not reachable from the LAN');
  const fromB1 = await execIn(h1, b1, ['timeout', '5', 'wget', '-qO-', url]);
  t.match(fromB1.stdout, 'hello', 'from a container on the other host');
  const fromA0 = await execIn(h0, a0, ['timeout', '5', 'wget', '-qO-', url]);
  t.match(fromA0.stdout, 'hello', 'from a container on the same host (hairpin)');
  const lbs = await env.nbctl('--bare', '--columns=protocol,external_ids', 'list', 'Load_Balancer');
  t.match(lbs, /udp/, 'a UDP load balancer for the UDP range');
  t.match(lbs, `ocn-chassis=${h0.name}`, 'load balancers tagged with the chassis');
  const taken = await h0.docker(
    [
      'run',
      '-d',
      '--name',
      uniqueName('dup'),
      '--network',
      net.name,
      '-p',
      '18080:80',
      'local/busybox',
      'sleep',
      '60',
    ],
    true,
  );
  t.not(taken.code, 0, 'the same host port again: refused');
  t.match(taken.stderr, /already in use|already allocated/, `clear error: ${taken.stderr.trim()}`);
  await h0.docker(['container', 'prune', '-f'], true);
  const before = await nbDump(env);
  const v6 = await h0.docker(
    [
      'run',
      '-d',
      '--name',
      uniqueName('v6'),
      '--network',
      net.name,
      '-p',
      '[::1]:18201:80',
      'local/busybox',
      'sleep',
      '60',
    ],
    true,
  );
  t.not(v6.code, 0, 'an IPv6 host address: refused');
  t.match(v6.stderr, /HostIP "::1".*IPv4 only/, `the error names it: ${v6.stderr.trim()}`);
  await h0.docker(['container', 'prune', '-f'], true);
  t.equal(await nbDump(env), before, 'NB is exactly as before');
  await h0.docker(['rm', '-f', web]);
  const after = await env.nbctl('--bare', '--columns=name', 'list', 'Load_Balancer');
  t.equal(after.trim(), '', 'docker rm -f: no load balancer left');
  const nft = await inHost(h0, 'nft', ['list', 'ruleset']);
  t.notMatch(nft.stdout, /18080|18081/, 'docker rm -f: no host rule left');
  t.notMatch((await lan('curl', ['-s', '-m', '2', url])).stdout, 'hello', 'the port is closed');
});

t.test('plugin SIGKILL: nothing of a removed container stays', async (t) => {
  const web = uniqueName('web');
  await h0.docker([
    'run',
    '-d',
    '--name',
    web,
    '--network',
    net.name,
    '-p',
    '18100:8080',
    'local/busybox',
    'sleep',
    '600',
  ]);
  await h0.plugin?.kill('SIGKILL');
  // Removed while the plugin is down: Docker retries DeleteEndpoint until the restarted plugin answers
  // (or gives up, and the reconciler sweeps: the endpoint has no port any more).
  const rm = h0.docker(['rm', '-f', web], true);
  await h0.startPlugin();
  await rm;
  const gone = await waitFor(
    async () => (await env.nbctl('--bare', '--columns=name', 'list', 'Load_Balancer')).trim() === '',
    30_000,
    'load balancer swept',
  ).catch(() => false);
  t.ok(gone, 'the reconciler removed the load balancer');
  const policies = await env.nbctl('--bare', '--columns=external_ids', 'list', 'Logical_Router_Policy');
  const eps = policies.split('\n').filter((l) => l.includes('ocn-role=reroute')).length;
  t.equal(eps, 2, 'reroute policies of the two running containers only');
  const nft = await waitFor(
    async () => !(await inHost(h0, 'nft', ['list', 'ruleset'])).stdout.includes('18100'),
    10_000,
    'host rule swept',
  ).catch(() => false);
  t.ok(nft, 'no host rule left');
});

t.test('tenants stay apart with gateways on', async (t) => {
  const other = uniqueName('tn').replace(/^ocnt/, 't');
  const nb = await createNetwork([h0], { subnet: `10.${o}.3.0/24`, tenant: other, isolate: false });
  const x = await runOn(h0, nb.name);
  const a0ip = await ipOf(h0, a0, net.name);
  t.notOk(await pings(h0, x, a0ip), 'tenant B → tenant A fails');
  const iso = await createNetwork([h0], { subnet: `10.${o}.4.0/24`, tenant });
  const y = await runOn(h0, iso.name);
  t.notOk(await pings(h0, y, a0ip), 'isolated networks of one tenant stay apart');
  t.ok(await pings(h1, b1, a0ip), 'the network itself still talks across hosts');
});

t.test('nothing stale after all this', async (t) => {
  t.same(await settle(env, [h0, h1]), [], 'no stale logical port, address or OVS port');
  t.comment(`north-south e2e took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
