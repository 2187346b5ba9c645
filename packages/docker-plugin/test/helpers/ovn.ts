// OVN-mode test helpers: the plugin BINARY run inside a simulated chassis' namespace (testkit startOvnEnv)
// with `--ovn-nb`, driven over its unix socket with Docker's plugin bodies (PROTOCOLS.md §3), and what
// dockerd does with Join's reply (move the container end into a namespace, rename it, address it, route).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  createNetns,
  deleteNetns,
  type OvnChassis,
  type OvnEnv,
  run,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';
import { BIN, testPrefix } from './plugin.js';

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** One POST on a plugin socket, the way moby's plugin client sends it (no Content-Type, body + newline). */
export function call(socketPath: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : `${JSON.stringify(body)}\n`;
    const req = request(
      {
        socketPath,
        path,
        method: 'POST',
        agent: false,
        headers: {
          Accept: 'application/vnd.docker.plugins.v1.2+json',
          'Content-Length': Buffer.byteLength(data),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: { raw: text } });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Like call, but throws with the plugin's Err unless the reply is 200. */
export async function ok(socketPath: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await call(socketPath, path, body);
  if (r.status !== 200) throw new Error(`${path} → ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export const dockerId = () => randomBytes(32).toString('hex');

export interface OvnPlugin {
  readonly name: string;
  readonly prefix: string;
  readonly socket: string;
  readonly chassis: OvnChassis;
  readonly logs: string[];
  child: ChildProcess;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
  call(path: string, body?: unknown): Promise<Reply>;
  ok(path: string, body?: unknown): Promise<Record<string, unknown>>;
}

export interface OvnPluginOptions {
  name?: string;
  prefix?: string;
  orphanGraceSeconds?: number;
  reconcileIntervalSeconds?: number;
  extraArgs?: string[];
}

/**
 * Waits until every chassis' ovn-controller has processed the SB: its tunnel ports to the other chassis are
 * on br-int (startOvnEnv returns once the chassis are registered, which is earlier).
 */
export async function waitChassisReady(env: OvnEnv): Promise<void> {
  if (env.chassis.length < 2) return;
  for (const ch of env.chassis) {
    await waitFor(
      async () =>
        (await ch.vsctl('list-ports', 'br-int')).split('\n').filter((p) => p.startsWith('ovn-')).length >=
        env.chassis.length - 1,
      30_000,
      `ovn-controller of ${ch.name} to set up its tunnels`,
    );
  }
  // And every ovn-controller answers an nb_cfg round (on a loaded machine one was seen stalled for ~8 s
  // right after start).
  await run('ovn-nbctl', [`--db=${env.nb.remote}`, '--timeout=60', '--wait=hv', 'sync']);
}

/** Starts the plugin binary in `chassis`' namespace against the env's NB (every member). */
export async function startOvnPlugin(
  env: OvnEnv,
  chassis: OvnChassis,
  o: OvnPluginOptions = {},
): Promise<OvnPlugin> {
  const name = o.name ?? uniqueName('p');
  const prefix = o.prefix ?? testPrefix();
  const dir = mkdtempSync(join(env.dir, `${name}-`));
  const socket = join(dir, 'plugin.sock');
  const logs: string[] = [];
  const args = [
    'netns',
    'exec',
    chassis.netns,
    process.execPath,
    BIN,
    '--ovsdb',
    chassis.endpoint,
    '--ovn-nb',
    env.nb.endpoints.join(','),
    '--name',
    name,
    '--socket',
    socket,
    '--prefix',
    prefix,
    '--log-level',
    'info',
    '--orphan-grace',
    String(o.orphanGraceSeconds ?? 60),
    '--reconcile-interval',
    String(o.reconcileIntervalSeconds ?? 0),
    // Generous on a loaded 2-core machine: ovn-controller has been seen taking seconds to claim a port.
    '--call-timeout',
    '30',
    '--ovn-install-timeout',
    '20',
    ...(o.extraArgs ?? []),
  ];
  const p: OvnPlugin = {
    name,
    prefix,
    socket,
    chassis,
    logs,
    child: undefined as unknown as ChildProcess,
    async start() {
      rmSync(socket, { force: true });
      // `ip netns exec` execs the command after setns: the child is the plugin itself (signals reach it).
      const c = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line) logs.push(line);
        if (logs.length > 5000) logs.splice(0, logs.length - 5000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      p.child = c;
      try {
        await waitFor(
          async () => {
            if (c.exitCode !== null) throw new Error(`plugin exited ${c.exitCode}`);
            if (!existsSync(socket)) return false;
            return (await call(socket, '/Plugin.Activate').catch(() => ({ status: 0 }))).status === 200;
          },
          30_000,
          `plugin ${name} to listen`,
        );
      } catch (err) {
        if (c.exitCode === null) c.kill('SIGKILL');
        throw new Error(`${(err as Error).message}; its last output:\n${logs.slice(-20).join('\n')}`);
      }
    },
    async kill(signal = 'SIGKILL') {
      const c = p.child;
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      await exited;
    },
    async stop() {
      await p.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    call: (path, body) => call(socket, path, body),
    ok: (path, body) => ok(socket, path, body),
  };
  await p.start();
  return p;
}

export interface NetworkSpec {
  logicalSwitch: string;
  subnet: string;
  subnet6?: string;
  tenant?: string;
  isolate?: boolean;
  mtu?: number;
  /** More `-o` options (e.g. `rate.egress`, `dscp`). */
  options?: Record<string, string>;
}

/** What dockerd does for `docker network create --ipam-driver P --ipam-opt logical_switch=S -o mode=ovn …`. */
export async function createNetwork(p: OvnPlugin, spec: NetworkSpec, networkId = dockerId()) {
  const opt = { logical_switch: spec.logicalSwitch };
  const pools: { v6: boolean; pool: string; poolId: string; gateway: string }[] = [];
  for (const [v6, subnet] of [
    [false, spec.subnet],
    [true, spec.subnet6],
  ] as const) {
    if (!subnet) continue;
    const r = await p.ok('/IpamDriver.RequestPool', {
      AddressSpace: 'ocn-local',
      Pool: subnet,
      Options: opt,
      V6: v6,
    });
    const g = await p.ok('/IpamDriver.RequestAddress', {
      PoolID: r.PoolID,
      Options: { RequestAddressType: 'com.docker.network.gateway' },
    });
    pools.push({ v6, pool: String(r.Pool), poolId: String(r.PoolID), gateway: String(g.Address) });
  }
  const generic: Record<string, string> = { mode: 'ovn', logical_switch: spec.logicalSwitch };
  if (spec.tenant) generic.tenant_id = spec.tenant;
  if (spec.isolate !== undefined) generic.isolate = String(spec.isolate);
  if (spec.mtu !== undefined) generic.mtu = String(spec.mtu);
  Object.assign(generic, spec.options);
  const body = {
    NetworkID: networkId,
    Options: {
      'com.docker.network.generic': generic,
      'com.docker.network.enable_ipv6': spec.subnet6 !== undefined,
    },
    IPv4Data: pools
      .filter((x) => !x.v6)
      .map((x) => ({ AddressSpace: 'ocn-local', Pool: x.pool, Gateway: x.gateway })),
    IPv6Data: pools
      .filter((x) => x.v6)
      .map((x) => ({ AddressSpace: 'ocn-local', Pool: x.pool, Gateway: x.gateway })),
  };
  const r = await p.call('/NetworkDriver.CreateNetwork', body);
  return { networkId, pools, body, reply: r };
}

export interface Endpoint {
  endpointId: string;
  netns: string;
  ip?: string;
  ip6?: string;
  address?: string;
  address6?: string;
  join: Record<string, unknown>;
  remove(): Promise<void>;
}

/**
 * docker run's calls: RequestAddress per pool, CreateEndpoint, Join; then what dockerd does with the reply:
 * moves SrcName from the chassis namespace into a fresh namespace as eth0, addresses it, default routes.
 */
export async function attach(
  p: OvnPlugin,
  net: Awaited<ReturnType<typeof createNetwork>>,
  o: { ip?: string; endpointId?: string; options?: Record<string, string> } = {},
): Promise<Endpoint> {
  const endpointId = o.endpointId ?? dockerId();
  const addrs: { v6: boolean; address: string }[] = [];
  for (const pool of net.pools) {
    const r = await p.ok('/IpamDriver.RequestAddress', {
      PoolID: pool.poolId,
      ...(o.ip && !pool.v6 ? { Address: o.ip } : {}),
    });
    addrs.push({ v6: pool.v6, address: String(r.Address) });
  }
  const a4 = addrs.find((a) => !a.v6)?.address;
  const a6 = addrs.find((a) => a.v6)?.address;
  await p.ok('/NetworkDriver.CreateEndpoint', {
    NetworkID: net.networkId,
    EndpointID: endpointId,
    Interface: { Address: a4 ?? '', AddressIPv6: a6 ?? '', MacAddress: '' },
    Options: o.options ?? {},
  });
  const netns = uniqueName('w');
  const join = await p.ok('/NetworkDriver.Join', {
    NetworkID: net.networkId,
    EndpointID: endpointId,
    SandboxKey: `/var/run/docker/netns/${netns}`,
    Options: {},
  });
  await createNetns(netns);
  const src = String((join.InterfaceName as { SrcName: string }).SrcName);
  await run('ip', ['-n', p.chassis.netns, 'link', 'set', src, 'netns', netns]);
  const ns = (...args: string[]) => run('ip', ['-n', netns, ...args]);
  await ns('link', 'set', src, 'name', 'eth0');
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_ra=0']);
  if (a4) await ns('addr', 'add', a4, 'dev', 'eth0');
  if (a6) await ns('-6', 'addr', 'add', a6, 'dev', 'eth0', 'nodad');
  await ns('link', 'set', 'eth0', 'up');
  await ns('link', 'set', 'lo', 'up');
  if (join.Gateway) await ns('route', 'add', 'default', 'via', String(join.Gateway));
  if (join.GatewayIPv6) await ns('-6', 'route', 'add', 'default', 'via', String(join.GatewayIPv6));
  return {
    endpointId,
    netns,
    ...(a4 ? { ip: a4.split('/')[0] as string, address: a4 } : {}),
    ...(a6 ? { ip6: a6.split('/')[0] as string, address6: a6 } : {}),
    join,
    async remove() {
      // dockerd: Leave, then the namespace goes (the veth with it), DeleteEndpoint, ReleaseAddress.
      await p.call('/NetworkDriver.Leave', { NetworkID: net.networkId, EndpointID: endpointId });
      await deleteNetns(netns).catch(() => undefined);
      await p.call('/NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: endpointId });
      for (const [i, pool] of net.pools.entries()) {
        const a = addrs[i];
        if (a) await p.call('/IpamDriver.ReleaseAddress', { PoolID: pool.poolId, Address: a.address });
      }
    },
  };
}

/** NB as `ovn-nbctl --format=json list` shows it, for before/after comparisons. */
export async function nbDump(env: OvnEnv): Promise<string> {
  const tables = [
    'Logical_Switch',
    'Logical_Switch_Port',
    'Logical_Router',
    'Logical_Router_Port',
    'Port_Group',
    'ACL',
    'Address_Set',
  ];
  const out: string[] = [];
  for (const t of tables) out.push(await env.nbctl('--format=json', 'list', t));
  return out.join('\n');
}

/** This test's LSPs: every port whose name starts with `ocn/<switch>/`. */
export async function lspNames(env: OvnEnv, sw: string): Promise<string[]> {
  const json = JSON.parse(
    await env.nbctl('--format=json', '--columns=name', 'list', 'Logical_Switch_Port'),
  ) as {
    data: [string][];
  };
  return json.data.map((r) => r[0]).filter((n) => n.startsWith(`ocn/${sw}/`));
}
