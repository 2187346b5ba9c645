// The north-south checks, run against one dockerd + plugin pair (the system dockerd with
// --iptables=false, or a dockerd in a namespace with its default firewall): published TCP/UDP ports over
// IPv4 and IPv6 from an outside namespace, from the host (127.0.0.1 and ::1 too) and from containers;
// what `docker port` says; a taken port; outbound NAT (and its opt-out); isolation; and no rule left after
// `docker rm -f`, a plugin SIGKILL + restart and `docker network rm`.

import { request } from 'node:http';
import type { RunResult } from '@ovs-container-network/testkit';
import { run, sleep, uniqueName, waitFor } from '@ovs-container-network/testkit';
import type { Test } from 'tap';
import {
  buildUdpEcho,
  createOutside,
  type HostSide,
  hasTable,
  hostRun,
  httpGet,
  ourRules,
  peerServer,
  udpAsk,
} from './north-south.js';

export interface SuiteEnv {
  label: string;
  docker(args: readonly string[], allowFail?: boolean): Promise<RunResult>;
  host: HostSide;
  plugin: {
    name: string;
    prefix: string;
    socket: string;
    kill(signal?: NodeJS.Signals): Promise<void>;
    start(): Promise<void>;
  };
  /** A bridge name for the test's networks. */
  bridge: string;
  /** Extra checks while the networks and the published container exist. */
  whileUp?: (t: Test) => Promise<void>;
}

const rnd = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

export async function portsSuite(t: Test, env: SuiteEnv): Promise<void> {
  const { docker, host, plugin } = env;
  const containers: string[] = [];
  const networks: string[] = [];
  const echo = await buildUdpEcho();
  const outside = await createOutside(host);
  t.teardown(async () => {
    if (containers.length) await docker(['rm', '-f', ...containers], true);
    for (const n of networks) await docker(['network', 'rm', n], true);
    await outside.remove();
    echo.remove();
  });

  const o2 = rnd(20, 220);
  const o3 = rnd(0, 60) * 4;
  const netA = uniqueName('pa');
  const netB = uniqueName('pb');
  const netC = uniqueName('pc');
  networks.push(netA, netB, netC);
  const create = (name: string, i: number, extra: string[] = []) =>
    docker([
      'network',
      'create',
      '-d',
      plugin.name,
      '--ipv6',
      '--subnet',
      `10.${o2}.${o3 + i}.0/24`,
      '--subnet',
      `fd00:${o2}:${o3 + i}::/64`,
      '-o',
      `bridge=${env.bridge}`,
      ...extra,
      name,
    ]);
  await create(netA, 0);
  await create(netB, 1);
  await create(netC, 2, ['-o', 'masquerade=false']);
  const gwA = `10.${o2}.${o3}.1`;

  const base = rnd(20000, 40000);
  const [tcpAll, udpAll, tcpLo, rangeLo] = [base, base + 1, base + 2, base + 10];
  const web = uniqueName('web');
  containers.push(web);
  await docker([
    'run',
    '-d',
    '--name',
    web,
    '--network',
    netA,
    '-v',
    `${echo.dir}:/t:ro`,
    '-p',
    `${tcpAll}:80`,
    '-p',
    `${udpAll}:7/udp`,
    '-p',
    `127.0.0.1:${tcpLo}:80`,
    '-p',
    `${rangeLo}-${rangeLo + 3}:80`,
    'local/busybox',
    'sh',
    '-c',
    `mkdir -p /www && echo hello-${web} > /www/index.html && (/t/udpecho 7 &) && exec httpd -f -p 80 -h /www`,
  ]);
  const hello = `hello-${web}`;

  await t.test(`${env.label}: published TCP from the outside namespace, IPv4 and IPv6`, async (t) => {
    t.equal(await waitFor(() => httpGet(outside.ns, outside.hostV4, tcpAll), 10_000, 'http v4'), hello);
    t.equal(await httpGet(outside.ns, outside.hostV6, tcpAll), hello, 'IPv6');
    t.equal(await httpGet(outside.ns, outside.hostV4, rangeLo), hello, 'a range gets its first free port');
    t.equal(
      await httpGet(outside.ns, outside.hostV4, tcpLo),
      '',
      'a 127.0.0.1 binding is not reachable from the LAN',
    );
  });
  await t.test(`${env.label}: published UDP from the outside namespace, IPv4 and IPv6`, async (t) => {
    t.equal(await udpAsk(outside.ns, outside.hostV4, udpAll), 'echo:ping');
    t.equal(await udpAsk(outside.ns, outside.hostV6, udpAll), 'echo:ping', 'IPv6');
  });
  await t.test(`${env.label}: from the host, including 127.0.0.1 and ::1`, async (t) => {
    const inHost = (cmd: string, args: string[]) => hostRun(host, cmd, args);
    const get = async (h: string, p: number) => {
      const url = `http://${h.includes(':') ? `[${h}]` : h}:${p}/`;
      const r = await inHost('curl', ['-s', '-g', '--max-time', '5', url]);
      return r.code === 0 ? r.stdout.trim() : '';
    };
    t.equal(await get('127.0.0.1', tcpAll), hello, '127.0.0.1');
    t.equal(await get('::1', tcpAll), hello, '::1');
    t.equal(await get(outside.hostV4, tcpAll), hello, "the host's own address");
    t.equal(await get('127.0.0.1', tcpLo), hello, 'a binding on 127.0.0.1');
    t.equal(await udpAsk(host.netns, '127.0.0.1', udpAll), 'echo:ping', 'UDP on 127.0.0.1');
  });
  await t.test(`${env.label}: from containers (hairpin)`, async (t) => {
    const peer = uniqueName('cl');
    containers.push(peer);
    await docker(['run', '-d', '--name', peer, '--network', netA, 'local/busybox', 'sleep', '600']);
    const wget = async (c: string, h: string, p: number) => {
      const url = `http://${h.includes(':') ? `[${h}]` : h}:${p}/`;
      const r = await docker(['exec', c, 'timeout', '5', 'wget', '-qO-', url], true);
      return r.code === 0 ? r.stdout.trim() : '';
    };
    t.equal(await wget(peer, gwA, tcpAll), hello, 'another container, through its gateway address');
    t.equal(await wget(peer, outside.hostV4, tcpAll), hello, "another container, through the host's address");
    t.equal(await wget(web, outside.hostV4, tcpAll), hello, 'the container itself');
  });
  await t.test(`${env.label}: what docker port and docker ps show`, async (t) => {
    const port = await docker(['port', web]);
    const ps = await docker(['ps', '--filter', `name=${web}`, '--format', '{{.Ports}}']);
    t.comment(`docker port: ${JSON.stringify(port.stdout)}; docker ps: ${JSON.stringify(ps.stdout)}`);
    const info = await docker(['inspect', '-f', '{{json .HostConfig.PortBindings}}', web]);
    t.match(info.stdout, `"${tcpAll}"`, 'the bindings Docker sent are in the container config');
    // What the driver reports: EndpointOperInfo carries the bindings made, in Docker's own shape. (Docker
    // 20.10 builds NetworkSettings.Ports from it only for built-in drivers: it type-asserts the value to
    // []types.PortBinding, which a remote driver's JSON never is — see the README.)
    const ids = await docker([
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${netA}").NetworkID}} {{(index .NetworkSettings.Networks "${netA}").EndpointID}}`,
      web,
    ]);
    const [NetworkID, EndpointID] = ids.stdout.trim().split(' ');
    const oper = (await pluginCall(plugin.socket, 'NetworkDriver.EndpointOperInfo', {
      NetworkID,
      EndpointID,
    })) as {
      Value: {
        'com.docker.network.portmap'?: { Proto: number; Port: number; HostIP: string; HostPort: number }[];
      };
    };
    const pm = oper.Value['com.docker.network.portmap'] ?? [];
    t.same(
      pm.map((b) => `${b.HostIP || '*'}:${b.HostPort}->${b.Port}/${b.Proto === 6 ? 'tcp' : 'udp'}`).sort(),
      [
        `*:${tcpAll}->80/tcp`,
        `*:${udpAll}->7/udp`,
        `127.0.0.1:${tcpLo}->80/tcp`,
        `*:${rangeLo}->80/tcp`,
      ].sort(),
      'EndpointOperInfo lists every binding (a range resolved to the port bound)',
    );
  });
  await t.test(`${env.label}: a port already taken is refused`, async (t) => {
    const again = uniqueName('dup');
    containers.push(again);
    const r = await docker(
      ['run', '-d', '--name', again, '--network', netA, '-p', `${tcpAll}:80`, 'local/busybox', 'sleep', '60'],
      true,
    );
    t.not(r.code, 0, 'docker run fails');
    t.match(r.stderr, /already (in use|allocated)/, r.stderr.trim());
    t.equal(await httpGet(outside.ns, outside.hostV4, tcpAll), hello, 'the first container keeps its port');
  });
  await t.test(`${env.label}: outbound TCP is source-NATed to the host's address`, async (t) => {
    const port = rnd(40000, 50000);
    const srv = await peerServer(outside.ns, port);
    t.teardown(() => srv.stop());
    const a = uniqueName('oa');
    const c = uniqueName('oc');
    containers.push(a, c);
    await docker(['run', '-d', '--name', a, '--network', netA, 'local/busybox', 'sleep', '600']);
    await docker(['run', '-d', '--name', c, '--network', netC, 'local/busybox', 'sleep', '600']);
    const r = await docker(['exec', a, 'sh', '-c', `echo x | timeout 5 nc ${outside.v4} ${port}`], true);
    if (!/hi/.test(r.stdout)) {
      // What the host side looked like, to say why.
      for (const [cmd, args] of [
        ['nft', ['list', 'ruleset']],
        ['ip', ['route']],
        ['sysctl', ['net.ipv4.ip_forward']],
      ] as const)
        t.comment((await hostRun(host, cmd, args)).stdout);
      t.comment((await docker(['exec', a, 'ip', 'route'], true)).stdout, r.stderr);
    }
    t.match(r.stdout, /hi/, 'connected');
    t.same(srv.peers.slice(-1), [outside.hostV4], 'the server sees the host address');
    // masquerade=false: the container's own address leaves the host; the LAN routes back to it.
    await run('ip', ['-n', outside.ns, 'route', 'add', `10.${o2}.${o3 + 2}.0/24`, 'via', outside.hostV4]);
    const r2 = await docker(['exec', c, 'sh', '-c', `echo x | timeout 5 nc ${outside.v4} ${port}`], true);
    t.match(r2.stdout, /hi/, 'connected without NAT');
    const cIp = (
      await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${netC}").IPAddress}}`, c])
    ).stdout.trim();
    t.same(srv.peers.slice(-1), [cIp], 'masquerade=false: the server sees the container address');
  });
  await t.test(`${env.label}: isolation between networks is unchanged`, async (t) => {
    const b = uniqueName('ib');
    containers.push(b);
    await docker(['run', '-d', '--name', b, '--network', netB, 'local/busybox', 'sleep', '600']);
    const webIp = (
      await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${netA}").IPAddress}}`, web])
    ).stdout.trim();
    const direct = await docker(['exec', b, 'timeout', '4', 'wget', '-qO-', `http://${webIp}/`], true);
    t.not(direct.code, 0, 'a container on another network does not reach the web container directly');
  });
  if (env.whileUp) {
    const check = env.whileUp;
    await t.test(`${env.label}: the host's firewall tables`, (t) => check(t));
  }
  await t.test(
    `${env.label}: nothing left after docker rm -f, a SIGKILL + restart, docker network rm`,
    async (t) => {
      const before = await ourRules(host, plugin.prefix);
      t.ok(
        before.some((r) => r.comment?.startsWith('ocn ep')),
        'port rules are in our table',
      );
      // A crash: kill the plugin, remove the container while it is down (Docker retries its calls and
      // goes on), start it again. The restarted plugin rebuilds the table from OVS.
      await plugin.kill('SIGKILL');
      const removing = docker(['rm', '-f', web], true);
      await sleep(1000);
      await plugin.start();
      await removing;
      containers.splice(containers.indexOf(web), 1);
      const left = await waitFor(
        async () => {
          const rules = await ourRules(host, plugin.prefix);
          return rules.some((r) => r.comment?.startsWith('ocn ep')) ? undefined : rules;
        },
        30_000,
        'the port rules to go',
      );
      t.ok(
        (left ?? []).every((r) => r.comment?.startsWith('ocn net')),
        'only the networks’ masquerade rules are left',
      );
      t.equal(await httpGet(host.netns, '127.0.0.1', tcpAll), '', 'the proxy port is closed');
      await docker(['rm', '-f', ...containers], true);
      containers.length = 0;
      for (const n of networks) await docker(['network', 'rm', n]);
      networks.length = 0;
      await waitFor(async () => !(await hasTable(host, plugin.prefix)), 15_000, 'our table to go');
      t.pass('no table, no rule');
    },
  );
}

/** One plugin call over its socket; resolves to the JSON reply. */
function pluginCall(socketPath: string, call: string, body: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/${call}`, method: 'POST', agent: false }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => {
        data += d.toString();
      });
      res.on('end', () => resolve(JSON.parse(data || '{}')));
    });
    req.on('error', reject);
    req.end(`${JSON.stringify(body)}\n`);
  });
}
