// A LAN of its own for each test: namespace S runs dnsmasq (Debian dnsmasq-base) as the LAN's DHCP server on
// one end of a veth pair; the client speaks from namespace C on the other end, for an endpoint MAC that is
// not the veth's. Everything is named ocnt…, and torn down (dnsmasq killed, namespaces deleted) by teardown.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNetns,
  deleteNetns,
  nsExec,
  run,
  sleep,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';

export const SERVER_IP = '10.231.0.1';

export interface Lan {
  serverNs: string;
  clientNs: string;
  /** The client's interface in clientNs. */
  clientIf: string;
  leaseFile: string;
  /** Stops dnsmasq (the server goes away). */
  stopServer(): Promise<void>;
  /** dnsmasq's stderr so far (with --log-dhcp). */
  log(): string;
  /**
   * How often `pattern` occurs in the log, once it occurs at least `atLeast` times (or after 3 s): dnsmasq logs
   * a reply after sending it, so the client can have it before the log line is written.
   */
  logged(pattern: RegExp, atLeast: number): Promise<number>;
  /** Lines of the lease file: `expiry mac ip hostname clientid` (dnsmasq(8), --dhcp-leasefile). */
  leases(): Array<{ expiry: number; mac: string; ip: string; hostname: string; clientId: string }>;
}

export interface LanOptions {
  /** Start dnsmasq (false: a LAN whose server does not answer). */
  dnsmasq?: boolean;
  /** --dhcp-range lease time, e.g. '2m' (dnsmasq's minimum). */
  leaseTime?: string;
  /** First and last address of the range (default 10.231.0.10,10.231.0.60). */
  range?: string;
  extraArgs?: string[];
}

export async function lanFixture(
  t: { teardown(fn: () => unknown): void },
  opts: LanOptions = {},
): Promise<Lan> {
  const serverNs = await createNetns(uniqueName('dhs'));
  t.teardown(() => deleteNetns(serverNs));
  const clientNs = await createNetns(uniqueName('dhc'));
  t.teardown(() => deleteNetns(clientNs));
  const sIf = 'lan0';
  const clientIf = 'eth0';
  await run('ip', [
    '-n',
    serverNs,
    'link',
    'add',
    sIf,
    'type',
    'veth',
    'peer',
    'name',
    clientIf,
    'netns',
    clientNs,
  ]);
  await nsExec(serverNs, 'ip', ['addr', 'add', `${SERVER_IP}/24`, 'dev', sIf]);
  await nsExec(serverNs, 'ip', ['link', 'set', sIf, 'up']);
  await nsExec(clientNs, 'ip', ['link', 'set', clientIf, 'up']);
  const dir = mkdtempSync(join(tmpdir(), 'ocnt-dhcp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const leaseFile = join(dir, 'leases');
  let stderr = '';
  let stopServer = async (): Promise<void> => {};
  if (opts.dnsmasq !== false) {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        serverNs,
        'dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--port=0', // no DNS
        `--interface=${sIf}`,
        '--bind-interfaces',
        `--dhcp-range=${opts.range ?? '10.231.0.10,10.231.0.60'},255.255.255.0,${opts.leaseTime ?? '2m'}`,
        '--dhcp-option=option:router,10.231.0.1',
        '--dhcp-option=option:dns-server,10.231.0.2',
        '--dhcp-authoritative',
        '--no-ping', // no ICMP probe of each address before offering it: seconds per test
        `--dhcp-leasefile=${leaseFile}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--user=root',
        '--log-dhcp',
        '--log-facility=-',
        ...(opts.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    stopServer = async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
    };
    t.teardown(stopServer);
    await waitFor(
      () => stderr.includes('DHCP, IP range') || child.exitCode !== null,
      5000,
      'dnsmasq to start',
    );
    if (child.exitCode !== null) throw new Error(`dnsmasq exited ${child.exitCode}: ${stderr}`);
  }
  return {
    serverNs,
    clientNs,
    clientIf,
    leaseFile,
    stopServer,
    log: () => stderr,
    logged: async (pattern, atLeast) => {
      const count = () => stderr.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
      await waitFor(() => count() >= atLeast, 3000, `${atLeast}× ${pattern} in dnsmasq's log`).catch(
        () => undefined,
      );
      return count();
    },
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
          const [expiry, mac, ip, hostname, clientId] = l.split(' ');
          return {
            expiry: Number(expiry),
            mac: mac ?? '',
            ip: ip ?? '',
            hostname: hostname ?? '',
            clientId: clientId ?? '',
          };
        });
    },
  };
}
