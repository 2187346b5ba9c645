// Rate limits and mirroring through the real dockerd: `-o rate.*` network defaults, `docker network connect
// --driver-opt rate.*/mirror.*` per endpoint, measured with TCP between containers (the probe runs in each
// container's network namespace with the host's python3, via nsenter), mirrored frames captured on the
// monitor container's interface. Needs root, dockerd and the shared OVS sandbox.
import { capture, docker, ensureDocker, measureTcp, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  containerIp,
  deleteBridges,
  postPlugin,
  removeAll,
  runContainer,
  startPluginProcess,
  vsctl,
} from '../helpers/plugin.js';
import { fullSpeed, rateWithin } from '../helpers/rates.js';

t.test('rate limits and a mirror set through Docker options', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  const containers: string[] = [];
  const networks: string[] = [];
  t.teardown(async () => {
    await removeAll(containers, networks);
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
  });
  const o = Math.floor(Math.random() * 200) + 20;
  const net = uniqueName('nq');
  const aux = uniqueName('nx');
  networks.push(net, aux);
  // Refused before anything is made: the option, the value and what is allowed.
  const bad = await docker(
    [
      'network',
      'create',
      '-d',
      p.name,
      '-o',
      `bridge=${bridge}`,
      '-o',
      'rate.ingress=fast',
      uniqueName('nb'),
    ],
    true,
  );
  t.match(bad.stderr, /invalid option rate\.ingress="fast": expected a rate in bits per second/);
  t.equal(await vsctl(p.ovsdb, '--if-exists', 'get', 'Bridge', bridge, 'name'), '', 'no bridge was created');

  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o}.7.0/24`,
    '-o',
    `bridge=${bridge}`,
    '-o',
    'rate.ingress=10mbit',
    net,
  ]);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o}.8.0/24`,
    '-o',
    `bridge=${bridge}`,
    aux,
  ]);
  const pid = async (c: string) =>
    `/proc/${(await docker(['inspect', '-f', '{{.State.Pid}}', c])).stdout.trim()}/ns/net`;

  // c1: the network's default (10 Mbit/s into it). c2: none in, 50 Mbit/s out. c3: unlimited, mirrored.
  const c1 = await runContainer(net);
  const [c2, c3, mon] = [await runContainer(aux), await runContainer(aux), await runContainer(aux)];
  containers.push(c1, c2, c3, mon);
  await docker([
    'network',
    'connect',
    '--driver-opt',
    'rate.ingress=none',
    '--driver-opt',
    'rate.egress=50mbit',
    net,
    c2,
  ]);
  await docker(['network', 'connect', '--driver-opt', 'mirror.monitor=mon', net, mon]);
  await docker([
    'network',
    'connect',
    '--driver-opt',
    'rate.ingress=none',
    '--driver-opt',
    'mirror.to=mon',
    net,
    c3,
  ]);
  const c4 = await runContainer(aux);
  containers.push(c4);
  const portsBefore = await vsctl(p.ovsdb, 'list-ports', bridge);
  const badConnect = await docker(['network', 'connect', '--driver-opt', 'burst.egress=1', net, c4], true);
  t.match(
    badConnect.stderr,
    /invalid option burst\.egress="1": expected a size in bytes/,
    'a bad endpoint option is refused',
  );
  t.equal(await vsctl(p.ovsdb, 'list-ports', bridge), portsBefore, 'and leaves no port behind');
  const ip = {
    c1: await containerIp(c1, net),
    c2: await containerIp(c2, net),
    c3: await containerIp(c3, net),
  };
  const ns = { c1: await pid(c1), c2: await pid(c2), c3: await pid(c3), mon: await pid(mon) };

  await rateWithin(t, "to c1 (the network's rate.ingress=10mbit)", 10, () => measureTcp(ns.c2, ns.c1, ip.c1));
  await rateWithin(
    t,
    'from c2 (--driver-opt rate.egress=50mbit, shaped after Docker moved its interface)',
    50,
    () => measureTcp(ns.c2, ns.c3, ip.c3),
  );
  await fullSpeed(t, 'c1 → c2 without limits', () => measureTcp(ns.c1, ns.c2, ip.c2, { seconds: 2 }));

  // ovn17: a running container's limits changed through the plugin socket (Docker has no endpoint-update
  // call): c2's egress 50 → 10 Mbit/s (the token bucket in the sandbox Join recorded), refused values first.
  const netId = (await docker(['network', 'inspect', '-f', '{{.Id}}', net])).stdout.trim();
  const epId = (
    await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").EndpointID}}`, c2])
  ).stdout.trim();
  const qosBefore = await vsctl(p.ovsdb, '--columns=qos,external_ids', 'list', 'Port');
  const refused = await postPlugin(p.socket, '/Ocn.SetRateLimit', {
    NetworkID: netId,
    EndpointID: epId,
    Options: { 'rate.egress': '10 furlongs' },
  });
  t.equal(refused.status, 500);
  t.match(refused.body, /rate\.egress.*10 furlongs.*mbit/, `a bad value is refused: ${refused.body}`);
  t.equal(await vsctl(p.ovsdb, '--columns=qos,external_ids', 'list', 'Port'), qosBefore, 'OVS unchanged');
  const changed = await postPlugin(p.socket, '/Ocn.SetRateLimit', {
    NetworkID: netId,
    EndpointID: epId,
    Options: { 'rate.egress': '10mbit' },
  });
  t.equal(changed.status, 200, changed.body);
  t.ok(changed.ms < 1000, `applied within 1 s (${changed.ms} ms)`);
  await rateWithin(t, 'from c2 after /Ocn.SetRateLimit rate.egress=10mbit', 10, () =>
    measureTcp(ns.c2, ns.c3, ip.c3),
  );

  // The monitor sees c3's frames, both ways, and not c1 ↔ c2.
  const multicast = (mac: string) => (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
  const mac3 = (
    await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").MacAddress}}`, c3])
  ).stdout.trim();
  await docker(['exec', c3, 'ping', '-c', '1', '-W', '2', ip.c1], true);
  await docker(['exec', c1, 'ping', '-c', '1', '-W', '2', ip.c2], true);
  const cap = await capture(ns.mon, 'eth1', 3);
  await Promise.all([
    docker(['exec', c3, 'ping', '-c', '5', '-i', '0.2', ip.c1]),
    docker(['exec', c1, 'ping', '-c', '5', '-i', '0.2', ip.c2]),
  ]);
  const frames = (await cap.done).filter((f) => !multicast(f.dst));
  t.equal(
    frames.filter((f) => f.ipsrc === ip.c3 && f.ipdst === ip.c1 && f.proto === 1).length,
    5,
    'c3 → c1 echo requests',
  );
  t.equal(
    frames.filter((f) => f.ipsrc === ip.c1 && f.ipdst === ip.c3 && f.proto === 1).length,
    5,
    'c1 → c3 replies',
  );
  t.same(
    frames.filter((f) => f.src !== mac3 && f.dst !== mac3),
    [],
    'nothing of c1 ↔ c2',
  );

  // Removed with what it mirrors; no QoS or Queue row of this plugin outlives its endpoints.
  await docker(['rm', '-f', c3, c2]);
  t.equal(
    await vsctl(
      p.ovsdb,
      '--no-heading',
      '--columns=_uuid',
      'find',
      'Mirror',
      `external_ids:ocn-owner=${p.name}`,
    ),
    '',
    'the mirror went with c3',
  );
  await docker(['rm', '-f', c1]);
  t.equal(
    await vsctl(
      p.ovsdb,
      '--no-heading',
      '--columns=_uuid',
      'find',
      'QoS',
      `external_ids:ocn-owner=${p.name}`,
    ),
    '',
    'no QoS row left',
  );
  t.equal(
    await vsctl(
      p.ovsdb,
      '--no-heading',
      '--columns=_uuid',
      'find',
      'Queue',
      `external_ids:ocn-owner=${p.name}`,
    ),
    '',
    'no Queue row left',
  );
});
