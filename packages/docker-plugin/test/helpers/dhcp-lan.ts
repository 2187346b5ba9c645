// The LAN of a DHCP-mode test: dnsmasq (Debian dnsmasq-base) in a namespace of its own, its veth's peer an
// access port of `vlan` on an OVS bridge of the shared sandbox — the LAN's DHCP server on the network's
// VLAN. Everything is named ocnt… and removed by the returned teardown (also on failure, via t.teardown).
// Root; needs the OVS sandbox (OCN_OVSDB) with ovs-vswitchd.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNetns,
  deleteNetns,
  nsExec,
  run,
  sleep,
  txOffloadOff,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';

export interface DhcpLan {
  ns: string;
  /** The host end of the server's veth, an access port of the VLAN. */
  port: string;
  serverIp: string;
  subnet: string;
  router: string;
  leaseFile: string;
  log(): string;
  leases(): Array<{ expiry: number; mac: string; ip: string }>;
  stopServer(): Promise<void>;
}

export interface DhcpLanOptions {
  ovsdb: string;
  bridge: string;
  vlan: number;
  /** Third octet of 10.23X.N.0/24 (default random), so parallel LANs do not look alike. */
  net?: number;
  /** Start dnsmasq (false: the VLAN's server never answers). */
  dnsmasq?: boolean;
  /** dnsmasq lease time (its minimum is 2m) and explicit T1/T2 (options 58/59), seconds. */
  leaseTime?: string;
  t1?: number;
  t2?: number;
}

export async function dhcpLan(t: { teardown(fn: () => unknown): void }, o: DhcpLanOptions): Promise<DhcpLan> {
  const n = o.net ?? 1 + Math.floor(Math.random() * 250);
  const subnet = `10.239.${n}.0/24`;
  const serverIp = `10.239.${n}.2`;
  const router = `10.239.${n}.1`;
  const ns = await createNetns(uniqueName('lan'));
  t.teardown(() => deleteNetns(ns));
  const port = uniqueName('lp');
  await run('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', ns]);
  t.teardown(() => run('ip', ['link', 'del', port], { allowFail: true }));
  await txOffloadOff('lan0', ns);
  await nsExec(ns, 'ip', ['addr', 'add', `${serverIp}/24`, 'dev', 'lan0']);
  await nsExec(ns, 'ip', ['link', 'set', 'lan0', 'up']);
  await run('ip', ['link', 'set', port, 'up']);
  await run('ovs-vsctl', [`--db=${o.ovsdb}`, '--timeout=20', 'add-port', o.bridge, port, `tag=${o.vlan}`]);
  t.teardown(() =>
    run('ovs-vsctl', [`--db=${o.ovsdb}`, '--timeout=20', '--if-exists', 'del-port', o.bridge, port], {
      allowFail: true,
    }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'ocnt-dhcplan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const leaseFile = join(dir, 'leases');
  let stderr = '';
  let child: ChildProcess | undefined;
  const stopServer = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
  };
  if (o.dnsmasq !== false) {
    const c = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--port=0',
        '--interface=lan0',
        '--bind-interfaces',
        `--dhcp-range=10.239.${n}.10,10.239.${n}.60,255.255.255.0,${o.leaseTime ?? '2m'}`,
        `--dhcp-option=option:router,${router}`,
        ...(o.t1 === undefined ? [] : [`--dhcp-option=option:T1,${o.t1}`]),
        ...(o.t2 === undefined ? [] : [`--dhcp-option=option:T2,${o.t2}`]),
        '--dhcp-authoritative',
        '--no-ping',
        `--dhcp-leasefile=${leaseFile}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--user=root',
        '--log-dhcp',
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = c;
    c.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    t.teardown(stopServer);
    await waitFor(() => stderr.includes('DHCP, IP range') || c.exitCode !== null, 5000, 'dnsmasq to start');
    if (c.exitCode !== null) throw new Error(`dnsmasq exited ${c.exitCode}: ${stderr}`);
  }
  return {
    ns,
    port,
    serverIp,
    subnet,
    router,
    leaseFile,
    log: () => stderr,
    stopServer,
    leases: () => {
      let text = '';
      try {
        text = readFileSync(leaseFile, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          const [expiry, mac, ip] = l.split(' ');
          return { expiry: Number(expiry), mac: mac ?? '', ip: ip ?? '' };
        });
    },
  };
}
