// Simulated hosts with real dockerds for the OVN e2e tests: the testkit's startOvnEnv with a dockerd and
// the plugin binary (`--ovn-nb`) on every chassis (scripts/testkit/src/dockerd.ts), networks created on each
// host the way a user does (docker network create -o mode=ovn -o logical_switch=…, the plugin's IPAM), and
// the leak checks every fault test ends with: no logical switch port without a live endpoint, no OVS port
// bound to a port that is gone, distinct addresses, and containers that still talk.
import { spawn } from 'node:child_process';
import {
  DOCKER,
  type OvnChassis,
  type OvnEnv,
  run,
  sleep,
  startOvnEnv,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';
import { K } from '../../src/core/ovn/model.js';

export const DRIVER = 'ovs-container-network';

export interface HostsOptions {
  hosts?: number;
  nb?: 'standalone' | 'clustered';
  /** Extra plugin flags. */
  pluginArgs?: string[];
}

/**
 * N hosts (default 2) with dockerd + plugin each. The plugin reconciles every second and removes unclaimed
 * address holds after 45 s (shorter graces race in-flight CreateEndpoints on a loaded machine), so the
 * leak checks after a fault converge within about half a minute.
 */
export async function startHosts(opts: HostsOptions = {}): Promise<OvnEnv> {
  const env = await startOvnEnv({
    chassis: opts.hosts ?? 2,
    nb: opts.nb ?? 'standalone',
    // OCN_DOCKER_FIREWALL=default: each host's dockerd in its default firewall setting (iptables=true; a new
    // namespace starts with forwarding off, so dockerd turns it on and sets FORWARD to DROP).
    withDocker: process.env.OCN_DOCKER_FIREWALL === 'default' ? { iptables: true } : true,
    plugin: {
      extraArgs: [
        '--orphan-grace',
        '45',
        '--reconcile-interval',
        '1',
        '--log-level',
        'warn',
        // A loaded 2-core machine running many chassis: ovn-controller may take seconds to install a port.
        '--ovn-install-timeout',
        '20',
        '--call-timeout',
        '30',
        ...(opts.pluginArgs ?? []),
        // OCN_TEST_OVN_PLUGIN_ARGS: extra flags for a manual run (e.g. `--ovn-remote-wait 0`, to see the
        // first-ping test fail without the wait for the other chassis).
        ...(process.env.OCN_TEST_OVN_PLUGIN_ARGS ?? '').split(' ').filter(Boolean),
      ],
    },
  });
  try {
    await chassisReady(env);
  } catch (err) {
    await env.stop();
    throw err;
  }
  return env;
}

/**
 * Waits until every ovn-controller has its tunnels to the others on br-int and has caught up with NB
 * (`ovn-nbctl --wait=hv sync`): startOvnEnv returns once the chassis are registered in the SB, earlier.
 */
export async function chassisReady(env: OvnEnv): Promise<void> {
  for (const ch of env.chassis)
    await waitFor(
      async () =>
        (await ch.vsctl('list-ports', 'br-int')).split('\n').filter((p) => p.startsWith('ovn-')).length >=
        env.chassis.length - 1,
      60_000,
      `the tunnels of chassis ${ch.index}`,
    );
  await run('ovn-nbctl', [`--db=${env.nb.remote}`, '--timeout=60', '--wait=hv', 'sync']);
}

export interface OvnNetwork {
  /** The Docker network name (the same on every host). */
  name: string;
  /** The logical switch. */
  ls: string;
  subnet: string;
  subnet6: string | undefined;
  tenant: string;
}

export interface NetworkOptions {
  subnet: string;
  subnet6?: string;
  tenant?: string;
  isolate?: boolean;
  mtu?: number;
  name?: string;
  ls?: string;
  /** `-o masquerade=…` (outbound SNAT on the chassis gateway; default on). */
  masquerade?: boolean;
}

/** The `docker network create` arguments of an OVN network (without the name). */
export function networkArgs(o: NetworkOptions & { ls: string }): string[] {
  return [
    'network',
    'create',
    '-d',
    DRIVER,
    '--ipam-driver',
    DRIVER,
    '--ipam-opt',
    `logical_switch=${o.ls}`,
    '--subnet',
    o.subnet,
    ...(o.subnet6 ? ['--ipv6', '--subnet', o.subnet6] : []),
    '-o',
    'mode=ovn',
    '-o',
    `logical_switch=${o.ls}`,
    ...(o.tenant ? ['-o', `tenant_id=${o.tenant}`] : []),
    ...(o.isolate === undefined ? [] : ['-o', `isolate=${o.isolate}`]),
    ...(o.mtu === undefined ? [] : ['-o', `mtu=${o.mtu}`]),
    ...(o.masquerade === undefined ? [] : ['-o', `masquerade=${o.masquerade}`]),
  ];
}

/** Creates the same OVN network on every given host (one logical switch). */
export async function createNetwork(hosts: readonly OvnChassis[], o: NetworkOptions): Promise<OvnNetwork> {
  const name = o.name ?? uniqueName('n');
  const ls = o.ls ?? name;
  for (const h of hosts) await h.docker([...networkArgs({ ...o, ls }), name]);
  return { name, ls, subnet: o.subnet, subnet6: o.subnet6, tenant: o.tenant ?? 'default' };
}

/** `docker run -d` on a host; returns the container name. */
export async function runOn(
  h: OvnChassis,
  network: string,
  extra: string[] = [],
  name = uniqueName('c'),
): Promise<string> {
  await h.docker([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    ...extra,
    'local/busybox',
    'sleep',
    '3600',
  ]);
  return name;
}

export async function ipOf(h: OvnChassis, container: string, network: string, v6 = false): Promise<string> {
  const f = v6 ? 'GlobalIPv6Address' : 'IPAddress';
  const { stdout } = await h.docker([
    'inspect',
    '-f',
    `{{(index .NetworkSettings.Networks "${network}").${f}}}`,
    container,
  ]);
  return stdout.trim();
}

export async function execIn(h: OvnChassis, container: string, cmd: string[]) {
  return h.docker(['exec', container, ...cmd], true);
}

export async function pings(h: OvnChassis, container: string, addr: string, count = 2): Promise<boolean> {
  const args = ['ping', ...(addr.includes(':') ? ['-6'] : []), '-c', String(count), '-W', '1', addr];
  return (await execIn(h, container, args)).code === 0;
}

/** An ARP reply from `ip` on eth0 (L2 reachability, whatever L3 filters say). */
export async function arps(h: OvnChassis, container: string, ip: string): Promise<boolean> {
  return (await execIn(h, container, ['arping', '-c', '2', '-w', '2', '-I', 'eth0', ip])).code === 0;
}

/**
 * `bytes` over TCP from a container on one host to a container on another (busybox nc; the listener under
 * `docker exec -i` with stdin held open: busybox `nc -l` hangs up when its stdin ends). Returns bytes received.
 */
export async function tcpAcross(
  from: OvnChassis,
  fromC: string,
  to: OvnChassis,
  toC: string,
  toIp: string,
  bytes = 2 * 1024 * 1024,
): Promise<number> {
  const port = 5000 + Math.floor(Math.random() * 1000);
  const server = spawn(DOCKER, ['exec', '-i', toC, 'sh', '-c', `timeout 20 nc -l -p ${port} | wc -c`], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, DOCKER_HOST: to.dockerd?.host ?? '' },
  });
  let out = '';
  server.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const done = new Promise<void>((r) => server.once('exit', () => r()));
  try {
    await sleep(500);
    await execIn(from, fromC, ['sh', '-c', `head -c ${bytes} /dev/zero | timeout 15 nc ${toIp} ${port}`]);
    await Promise.race([done, sleep(20_000)]);
  } finally {
    server.stdin?.end();
    server.kill();
  }
  return Number.parseInt(out.trim() || '0', 10);
}

export interface Lsp {
  name: string;
  addresses: string[];
  externalIds: Record<string, string>;
}

/** Every Logical_Switch_Port in NB (name, addresses, external_ids). */
export async function nbPorts(env: OvnEnv): Promise<Lsp[]> {
  const out = await env.nbctl(
    '--format=json',
    '--columns=name,addresses,external_ids',
    'list',
    'Logical_Switch_Port',
  );
  const { data } = JSON.parse(out) as { data: [string, unknown, [string, [string, string][]]][] };
  return data.map(([name, addresses, ids]) => ({
    name,
    addresses: setOf(addresses),
    externalIds: Object.fromEntries(ids[1]),
  }));
}

/** A JSON-formatted OVSDB set (`["set",[…]]` or a bare atom) as strings. */
function setOf(v: unknown): string[] {
  if (Array.isArray(v) && v[0] === 'set') return (v[1] as unknown[]).map(String);
  return v === undefined || v === '' ? [] : [String(v)];
}

/** A whole NB dump (every table), to show that a refused request changed nothing. */
export async function nbDump(env: OvnEnv): Promise<string> {
  const tables = [
    'Logical_Switch',
    'Logical_Switch_Port',
    'Logical_Router',
    'Logical_Router_Port',
    'ACL',
    'Port_Group',
    'DNS',
    'Logical_Router_Policy',
    'Load_Balancer',
    'NAT',
  ];
  const parts: string[] = [];
  for (const t of tables) parts.push(`${t}: ${withoutIpamHint(await env.nbctl('--format=json', 'list', t))}`);
  return parts.join('\n');
}

/**
 * The switch's next-fit IPAM hint (`ocn-ipam-last-v4`/`-v6`) left out of a dump: RequestAddress moves it
 * before a later step refuses the run, as Docker's own IPAM moves its pointer. What a refused run must not
 * leave (a hold, a port, a load balancer, a policy) is still compared.
 */
function withoutIpamHint(json: string): string {
  const isHint = (v: unknown): boolean =>
    Array.isArray(v) && typeof v[0] === 'string' && v[0].startsWith(K.ipamLast);
  const strip = (v: unknown): unknown => {
    if (!Array.isArray(v)) return v;
    if (v[0] === 'map' && Array.isArray(v[1])) return ['map', v[1].filter((kv: unknown) => !isHint(kv))];
    return v.map(strip);
  };
  const table = JSON.parse(json) as { headings: unknown; data: unknown };
  return JSON.stringify({ headings: table.headings, data: strip(table.data) });
}

/** Endpoint ids of every container of every host on OVN networks (what Docker thinks is alive). */
export async function liveEndpoints(hosts: readonly OvnChassis[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const h of hosts) {
    const nets = (await h.docker(['network', 'ls', '-q', '--filter', `driver=${DRIVER}`])).stdout
      .split('\n')
      .filter(Boolean);
    for (const n of nets) {
      const { stdout } = await h.docker(['network', 'inspect', '-f', '{{json .Containers}}', n]);
      const cs = JSON.parse(stdout || '{}') as Record<string, { EndpointID: string }> | null;
      for (const c of Object.values(cs ?? {})) ids.add(c.EndpointID);
    }
  }
  return ids;
}

/** br-int ports bound to a logical port (`external_ids:iface-id`) on a host: interface name → iface-id. */
export async function boundOvsPorts(h: OvnChassis): Promise<Map<string, string>> {
  const out = await h.vsctl('--format=json', '--columns=name,external_ids', 'list', 'Interface');
  const { data } = JSON.parse(out) as { data: [string, [string, [string, string][]]][] };
  const m = new Map<string, string>();
  for (const [name, ids] of data) {
    const id = new Map(ids[1]).get('iface-id');
    if (id !== undefined) m.set(name, id);
  }
  return m;
}

/**
 * What is stale: logical ports of the plugin whose endpoint Docker no longer has (or address holds), OVS
 * ports bound to logical ports that do not exist, and addresses held twice. Empty when all is clean.
 */
export async function staleState(env: OvnEnv, hosts: readonly OvnChassis[]): Promise<string[]> {
  const live = await liveEndpoints(hosts);
  const lsps = await nbPorts(env);
  const problems: string[] = [];
  const names = new Set(lsps.map((l) => l.name));
  const seen = new Map<string, string>();
  for (const l of lsps) {
    // Endpoint ports and address holds (router ports and the like carry neither key).
    const ep = l.externalIds['ocn-endpoint'];
    if (ep === undefined && l.externalIds['ocn-hold'] === undefined) continue;
    if (ep === undefined || ep === '')
      problems.push(`LSP ${l.name} holds an address with no endpoint (${JSON.stringify(l.externalIds)})`);
    else if (!live.has(ep))
      problems.push(`LSP ${l.name} of endpoint ${ep.slice(0, 12)} that Docker does not have`);
    for (const a of l.addresses)
      for (const ip of a.split(' ').slice(1)) {
        const other = seen.get(ip);
        if (other !== undefined) problems.push(`address ${ip} on both ${other} and ${l.name}`);
        seen.set(ip, l.name);
      }
  }
  // North–south objects of an endpoint (reroute policies, published-port load balancers).
  for (const table of ['Load_Balancer', 'Logical_Router_Policy']) {
    const out = await env.nbctl('--format=json', '--columns=external_ids', 'list', table);
    const { data } = JSON.parse(out) as { data: [[string, [string, string][]]][] };
    for (const [ids] of data) {
      const ep = Object.fromEntries(ids[1])['ocn-endpoint'];
      if (ep !== undefined && !live.has(ep))
        problems.push(`${table} of endpoint ${ep.slice(0, 12)} that Docker does not have`);
    }
  }
  for (const h of hosts)
    for (const [port, id] of await boundOvsPorts(h))
      if (!names.has(id)) problems.push(`host ${h.index}: OVS port ${port} bound to missing LSP ${id}`);
  return problems;
}

/** Polls staleState until it is empty (the reconcilers run every second) and returns what is left. */
export async function settle(
  env: OvnEnv,
  hosts: readonly OvnChassis[],
  timeoutMs = 75_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await staleState(env, hosts).catch((e: Error) => [`check failed: ${e.message}`]);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(500);
  }
}

/** Every pair (a on one host, b on another) pings; returns the pairs that did not. */
export async function unreachablePairs(
  pairs: { from: OvnChassis; c: string; to: string }[],
): Promise<string[]> {
  const bad: string[] = [];
  await Promise.all(
    pairs.map(async (p) => {
      if (!(await pings(p.from, p.c, p.to, 3))) bad.push(`${p.c}@${p.from.index} → ${p.to}`);
    }),
  );
  return bad;
}

/** Runs fn over items with at most `limit` at once. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

export { run, waitFor };

/**
 * Runs a host tool (iputils ping, ethtool, ip) inside a container's network namespace. The container's
 * State.Pid is a pid of its dockerd's PID namespace (dockerd.ts), so resolve it there: enter dockerd's
 * mount namespace (its /proc is that PID namespace's) first.
 */
export async function inContainerNs(h: OvnChassis, container: string, cmd: string[]) {
  const pid = (await h.docker(['inspect', '-f', '{{.State.Pid}}', container])).stdout.trim();
  const dpid = h.dockerd?.pid;
  if (dpid === undefined) throw new Error(`host ${h.index}: dockerd is not running`);
  return run('nsenter', ['-t', String(dpid), '-m', '-p', '--', 'nsenter', '-t', pid, '-n', '--', ...cmd], {
    allowFail: true,
  });
}
