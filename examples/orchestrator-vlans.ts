// Example 2 — the orchestrator case. Traffic generators and test endpoints (network namespaces, or busybox
// containers with --docker) wired to one OVS bridge on two VLANs, connectivity checked (ping AND TCP;
// isolation across VLANs), then torn down. The four functions an orchestrator used to hand-write around
// ovs-vsctl/ip/ovs-docker, with their retry loops and health checks, become a few calls each: the API is
// idempotent, rolls back partial failures, and takes concurrent calls.
//
//   tsx examples/orchestrator-vlans.ts [--ovsdb unix:/run/openvswitch/db.sock] [--bridge br-lab]
//                                      [--prefix lab] [--docker] [--keep]
import { type Attachment, Orchestrator } from '@ovs-container-network/docker-plugin/orchestrator';
import { flags, main, type Ran, sh } from './lib/cli.js';

const USAGE = `usage: tsx examples/orchestrator-vlans.ts [--ovsdb EP] [--bridge NAME] [--prefix P] [--docker] [--keep]`;
const opts = flags(USAGE, {
  bridge: { type: 'string', default: 'br-lab' },
  prefix: { type: 'string', default: 'lab' },
  docker: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  'datapath-type': { type: 'string', default: 'netdev' },
});
const DOCKER = '/usr/bin/docker';

/** One endpoint of the lab: a named namespace or a busybox container. */
interface Node {
  name: string;
  vlan: number;
  ip: string;
}

/** How to reach a node's namespace for the checks (and the attach target). */
const targetOf = (n: Node) => (opts.docker ? { container: n.name } : { netns: n.name });
// `docker exec -i`: busybox nc quits early when its stdin is at EOF (docker exec without -i gives it
// /dev/null); with -i it gets our stdin pipe, which stays open and empty.
const execIn = (n: Node, cmd: string[]): Promise<Ran> =>
  opts.docker ? sh(DOCKER, ['exec', '-i', n.name, ...cmd]) : sh('ip', ['netns', 'exec', n.name, ...cmd]);

// ---- the orchestrator functions, rewritten on the embedding API -------------------------------------------

/** Was: veth + ovs-vsctl add-port + ip link set netns + ip addr + retries. Now: one idempotent call. */
function connectContainerToBridge(orch: Orchestrator, node: Node, bridge: string): Promise<Attachment> {
  return orch.attach({
    bridge,
    target: targetOf(node),
    containerId: node.name,
    ifname: 'eth1',
    addresses: [`${node.ip}/24`],
    mtu: 1450,
    vlan: node.vlan,
    externalIds: { 'lab-role': node.name.includes('tg') ? 'traffic-generator' : 'test' },
  });
}

/** Was: find the port by external_ids, ovs-vsctl del-port, ip link del, ignore errors. */
function disconnectContainerFromBridge(orch: Orchestrator, node: Node, bridge: string): Promise<number> {
  return orch.detachAll({ containerId: node.name, bridge });
}

/** Was: a loop of docker run / ip netns add + connect + "wait until it pings" health checks. */
async function setupTestContainers(orch: Orchestrator, bridge: string, vlans: number[]): Promise<Node[]> {
  const nodes = vlans.flatMap((vlan, v) =>
    [1, 2].map((i) => ({ name: `${opts.prefix}t${vlan}-${i}`, vlan, ip: `10.60.0.${10 * (v + 1) + i}` })),
  );
  await Promise.all(nodes.map(createNode));
  await Promise.all(nodes.map((n) => connectContainerToBridge(orch, n, bridge)));
  return nodes;
}

/** Was: the same, for the traffic generators alone (one per VLAN). */
async function setupTrafficGeneratorsOnly(
  orch: Orchestrator,
  bridge: string,
  vlans: number[],
): Promise<Node[]> {
  const nodes = vlans.map((vlan, v) => ({ name: `${opts.prefix}tg${vlan}`, vlan, ip: `10.60.0.${v + 1}` }));
  await Promise.all(nodes.map(createNode));
  await Promise.all(nodes.map((n) => connectContainerToBridge(orch, n, bridge)));
  return nodes;
}

// ---- plumbing of the lab itself (creating/removing the endpoints is not the library's job) ------------------

async function createNode(n: Node): Promise<void> {
  const r = opts.docker
    ? await sh(DOCKER, ['run', '-d', '--network', 'none', '--name', n.name, 'local/busybox', 'sleep', '3600'])
    : await sh('ip', ['netns', 'add', n.name]);
  if (r.code !== 0) throw new Error(`creating ${n.name}: ${r.stderr.trim()}`);
  if (!opts.docker) await sh('ip', ['-n', n.name, 'link', 'set', 'lo', 'up']);
}

async function removeNode(n: Node): Promise<void> {
  if (opts.docker) await sh(DOCKER, ['rm', '-f', n.name]);
  else await sh('ip', ['netns', 'del', n.name]);
}

async function ping(from: Node, to: Node): Promise<boolean> {
  return (await execIn(from, ['ping', '-c', '2', '-i', '0.2', '-W', '1', to.ip])).code === 0;
}

/** Sends 1 MiB over TCP with busybox nc and returns the byte count the receiver saw. */
async function tcp(from: Node, to: Node, port: number): Promise<number> {
  const server = execIn(to, ['sh', '-c', `timeout 10 busybox nc -l -p ${port} | wc -c`]);
  await new Promise((r) => setTimeout(r, 300));
  await execIn(from, ['sh', '-c', `head -c 1048576 /dev/zero | timeout 10 busybox nc ${to.ip} ${port}`]);
  return Number.parseInt((await server).stdout.trim() || '0', 10);
}

main(async () => {
  const orch = await Orchestrator.connect({
    ovsdb: opts.ovsdb,
    datapathType: opts['datapath-type'] === 'system' ? 'system' : 'netdev',
  });
  const vlans = [100, 200];
  const nodes: Node[] = [];
  let failures = 0;
  const check = (ok: boolean, what: string) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failures++;
  };
  try {
    const t0 = performance.now();
    const tgs = await setupTrafficGeneratorsOnly(orch, opts.bridge, vlans);
    nodes.push(...tgs);
    const tests = await setupTestContainers(orch, opts.bridge, vlans);
    nodes.push(...tests);
    console.log(
      `wired ${nodes.length} endpoints to ${opts.bridge} in ${(performance.now() - t0).toFixed(1)} ms`,
    );
    for (const a of await orch.list({ bridge: opts.bridge }))
      console.log(`  ${a.port}  ${a.containerId.padEnd(20)} ${a.ifname}  vlan ${a.vlan}`);

    let port = 5301;
    for (const tg of tgs) {
      for (const t of tests) {
        const same = t.vlan === tg.vlan;
        const reached = await ping(tg, t);
        check(reached === same, `ping ${tg.name} -> ${t.name} ${same ? 'works' : 'is blocked (other VLAN)'}`);
        if (same) {
          const bytes = await tcp(tg, t, port++);
          check(bytes === 1048576, `tcp ${tg.name} -> ${t.name}: ${bytes} bytes`);
        }
      }
    }

    // Move one test endpoint to the other VLAN: it now talks to the other traffic generator only.
    const mover = tests[0]!;
    const tgOther = tgs[1]!;
    await orch.setVlan({ containerId: mover.name, ifname: 'eth1' }, tgOther.vlan);
    // One subnet for the whole lab: only the VLAN keeps the groups apart.
    check(await ping(tgOther, mover), `after set-vlan ${mover.name} answers ${tgOther.name}`);
    const moverBytes = await tcp(tgOther, mover, port++);
    check(moverBytes === 1048576, `after set-vlan tcp ${tgOther.name} -> ${mover.name}: ${moverBytes} bytes`);
    check(!(await ping(tgs[0]!, mover)), `after set-vlan ${mover.name} is cut off from ${tgs[0]!.name}`);
  } finally {
    if (!opts.keep) {
      const t1 = performance.now();
      const removed = await Promise.all(
        nodes.map((n) => disconnectContainerFromBridge(orch, n, opts.bridge)),
      );
      console.log(
        `tore down ${removed.reduce((s, x) => s + x, 0)} ports in ${(performance.now() - t1).toFixed(1)} ms`,
      );
      await Promise.all(nodes.map(removeNode));
      await orch.deleteBridge(opts.bridge, { ifEmpty: true });
    }
    await orch.close();
  }
  if (failures) throw new Error(`${failures} connectivity check(s) failed`);
  console.log('all connectivity checks passed');
});
