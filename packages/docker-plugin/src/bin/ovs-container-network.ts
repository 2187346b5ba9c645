#!/usr/bin/env node
// ovs-container-network: the Docker network + IPAM driver on Open vSwitch, as a legacy plugin socket or
// inside a managed plugin. Flags override OCN_* environment variables (the managed plugin sets those).
import './threadpool.js';
import { accessSync, constants as fsConstants } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TlsOptions } from '@ovs-container-network/ovsdb';
import { pino } from 'pino';
import { describeError, InvalidOptionError } from '../core/errors.js';
import { parseDatapathType } from '../core/options.js';
import { parseOvnFlags } from '../core/ovn/config.js';
import { startPlugin } from '../plugin.js';

const HELP = `usage: ovs-container-network [flags]

  --ovsdb ENDPOINT          OVSDB endpoint (default unix:/var/run/openvswitch/db.sock; env OCN_OVSDB)
  --ovsdb-ca FILE           ssl: CA certificate that signed ovsdb-server's (PEM; env OCN_OVSDB_CA)
  --ovsdb-cert FILE         ssl: our certificate, signed by ovsdb-server's --ca-cert (env OCN_OVSDB_CERT)
  --ovsdb-key FILE          ssl: our private key (env OCN_OVSDB_KEY)
  --ovsdb-check-hostname    ssl: also check that the server certificate names the host (default off, as
                            OVS's own clients: ovs-pki certificates name no host; env OCN_OVSDB_CHECK_HOSTNAME=1)
  --call-timeout SECONDS    every Docker call is answered within this time, e.g. during an OVSDB outage
                            (default 10; env OCN_CALL_TIMEOUT)
  --name NAME               driver name: docker network create -d NAME (default ovs-container-network; env OCN_NAME)
  --socket PATH             plugin socket (default /run/docker/plugins/NAME.sock; env OCN_SOCKET)
  --datapath-type TYPE      system (kernel OVS, default) or netdev (userspace datapath); env OCN_DATAPATH_TYPE
  --log-level LEVEL         fatal|error|warn|info|debug|trace|silent (default info; env OCN_LOG_LEVEL)
  --metrics ADDR            serve Prometheus metrics on HOST:PORT (default off; env OCN_METRICS)
  --prefix PREFIX           prefix of the interface names the driver creates (default ocn; env OCN_PREFIX)
  --orphan-grace SECONDS    unjoined endpoints older than this are removed (default 60; env OCN_ORPHAN_GRACE)
  --reconcile-interval SEC  how often to look for orphans (default 30; env OCN_RECONCILE_INTERVAL)
  --shutdown-timeout SEC    on SIGTERM/SIGINT, exit (status 1, naming what hung) if closing takes longer;
                            all state is in OVS, so nothing is lost (default 10, as dockerd's wait before
                            SIGKILL; 0 = wait forever; env OCN_SHUTDOWN_TIMEOUT)

  OVN mode (networks created with -o mode=ovn; see README "OVN mode"):
  --ovn-nb ENDPOINTS        OVN_Northbound remotes, comma-separated, as --ovsdb (a Raft cluster: every
                            member); turns OVN mode on (env OCN_OVN_NB)
  --ovn-ca/--ovn-cert/--ovn-key FILE   TLS for ssl: NB remotes (env OCN_OVN_CA, OCN_OVN_CERT, OCN_OVN_KEY)
  --ovn-check-hostname      ssl: also check the NB certificate's host name (env OCN_OVN_CHECK_HOSTNAME=1)
  --ovn-bridge NAME         integration bridge (default br-int; env OCN_OVN_BRIDGE)
  --ovn-underlay-mtu N      underlay MTU (default: OVS Interface br-phy's mtu, else 1500); network MTU
                            defaults to it minus 58 (geneve) or 50 (vxlan) (env OCN_OVN_UNDERLAY_MTU)
  --ovn-install-timeout S   how long CreateEndpoint waits for ovn-installed (default 8; env
                            OCN_OVN_INSTALL_TIMEOUT)
  --ovn-remote-wait S       Join waits up to S seconds until every chassis applied the port
                            (nb_cfg → hv_cfg), so the first reply from another host is not lost; a chassis
                            that is down is waited for once, then not until it catches up (default 3,
                            0 = off, at most --ovn-install-timeout; env OCN_OVN_REMOTE_WAIT)
  --ovn-sb ENDPOINTS|off    where that wait reads each chassis' report: SB remotes (default: this
                            chassis' external_ids:ovn-remote), one ovn-northd run sooner than NB hv_cfg,
                            which is awaited beside it; off: NB hv_cfg only (env OCN_OVN_SB)
  --ovn-wait-hv             accepted for compatibility: the wait above is on by default now
  -h, --help
`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function num(flag: string, v: string | undefined, def: number): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidOptionError(flag, v, 'a number of seconds ≥ 0');
  return n;
}

async function main(): Promise<void> {
  // `pnpm plugin -- --flag` (npm's habit) reaches us with a literal `--` first under pnpm 10; parseArgs would
  // take it as the end of the flags and refuse everything after it as positionals.
  const argv = process.argv.slice(2);
  if (argv[0] === '--') argv.shift();
  const { values } = parseArgs({
    args: argv,
    options: {
      ovsdb: { type: 'string' },
      name: { type: 'string' },
      socket: { type: 'string' },
      'datapath-type': { type: 'string' },
      'log-level': { type: 'string' },
      metrics: { type: 'string' },
      prefix: { type: 'string' },
      'orphan-grace': { type: 'string' },
      'reconcile-interval': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'ovsdb-ca': { type: 'string' },
      'ovsdb-cert': { type: 'string' },
      'ovsdb-key': { type: 'string' },
      'ovsdb-check-hostname': { type: 'boolean' },
      'call-timeout': { type: 'string' },
      // --- OVN mode (core/ovn/config.ts) ---
      'ovn-nb': { type: 'string' },
      'ovn-ca': { type: 'string' },
      'ovn-cert': { type: 'string' },
      'ovn-key': { type: 'string' },
      'ovn-check-hostname': { type: 'boolean' },
      'ovn-bridge': { type: 'string' },
      'ovn-underlay-mtu': { type: 'string' },
      'ovn-install-timeout': { type: 'string' },
      'ovn-remote-wait': { type: 'string' },
      'ovn-sb': { type: 'string' },
      'ovn-wait-hv': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const env = process.env;
  const level = values['log-level'] ?? env.OCN_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level)) throw new InvalidOptionError('--log-level', level, LEVELS.join(', '));
  const logger = pino({ level, base: { name: values.name ?? env.OCN_NAME ?? 'ovs-container-network' } });
  const metrics = values.metrics ?? env.OCN_METRICS;
  const socket = values.socket ?? env.OCN_SOCKET;
  const prefix = values.prefix ?? env.OCN_PREFIX;
  const ovsdb = values.ovsdb ?? env.OCN_OVSDB ?? 'unix:/var/run/openvswitch/db.sock';
  const tls = tlsOptions(ovsdb, {
    ca: values['ovsdb-ca'] ?? env.OCN_OVSDB_CA,
    cert: values['ovsdb-cert'] ?? env.OCN_OVSDB_CERT,
    key: values['ovsdb-key'] ?? env.OCN_OVSDB_KEY,
    checkHostname:
      values['ovsdb-check-hostname'] ?? ['1', 'true', 'yes'].includes(env.OCN_OVSDB_CHECK_HOSTNAME ?? ''),
  });
  const callTimeout = num('--call-timeout', values['call-timeout'] ?? env.OCN_CALL_TIMEOUT, 10);
  if (callTimeout <= 0)
    throw new InvalidOptionError('--call-timeout', callTimeout, 'a number of seconds > 0');
  const shutdownTimeout = num(
    '--shutdown-timeout',
    values['shutdown-timeout'] ?? env.OCN_SHUTDOWN_TIMEOUT,
    10,
  );
  // --- OVN mode ---
  const ovn = parseOvnFlags(
    {
      nb: values['ovn-nb'] ?? env.OCN_OVN_NB,
      ca: values['ovn-ca'] ?? env.OCN_OVN_CA,
      cert: values['ovn-cert'] ?? env.OCN_OVN_CERT,
      key: values['ovn-key'] ?? env.OCN_OVN_KEY,
      checkHostname:
        values['ovn-check-hostname'] ?? ['1', 'true', 'yes'].includes(env.OCN_OVN_CHECK_HOSTNAME ?? ''),
      bridge: values['ovn-bridge'] ?? env.OCN_OVN_BRIDGE,
      underlayMtu: values['ovn-underlay-mtu'] ?? env.OCN_OVN_UNDERLAY_MTU,
      installTimeout: values['ovn-install-timeout'] ?? env.OCN_OVN_INSTALL_TIMEOUT,
      remoteWait: values['ovn-remote-wait'] ?? env.OCN_OVN_REMOTE_WAIT,
      sb: values['ovn-sb'] ?? env.OCN_OVN_SB,
    },
    callTimeout * 1000,
  );
  const plugin = await startPlugin({
    ovsdb,
    ...(ovn ? { ovn } : {}),
    ...(tls ? { ovsdbTls: tls } : {}),
    callTimeoutMs: callTimeout * 1000,
    name: values.name ?? env.OCN_NAME ?? 'ovs-container-network',
    ...(socket ? { socket } : {}),
    datapathType: parseDatapathType(
      '--datapath-type',
      values['datapath-type'] ?? env.OCN_DATAPATH_TYPE ?? 'system',
    ),
    ...(metrics ? { metrics } : {}),
    ...(prefix ? { prefix } : {}),
    orphanGraceMs: num('--orphan-grace', values['orphan-grace'] ?? env.OCN_ORPHAN_GRACE, 60) * 1000,
    reconcileIntervalMs:
      num('--reconcile-interval', values['reconcile-interval'] ?? env.OCN_RECONCILE_INTERVAL, 30) * 1000,
    logger,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (shutdownTimeout > 0)
      setTimeout(() => {
        logger.error(
          { waitingFor: plugin.closing, resources: process.getActiveResourcesInfo() },
          `shutdown did not finish within ${shutdownTimeout} s; exiting`,
        );
        process.exit(1);
      }, shutdownTimeout * 1000).unref();
    plugin.close().then(
      () => {
        logger.info('closed; exiting');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: describeError(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('unhandledRejection', (err) => logger.error({ err: describeError(err) }, 'unhandled rejection'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** TLS options for an ssl: endpoint; the three files are required together, and only for ssl:. */
function tlsOptions(
  ovsdb: string,
  f: { ca: string | undefined; cert: string | undefined; key: string | undefined; checkHostname: boolean },
): TlsOptions | undefined {
  const given = [f.ca, f.cert, f.key].filter((x) => x !== undefined && x !== '');
  const ssl = ovsdb.split(',').some((e) => e.startsWith('ssl:'));
  if (!ssl) {
    if (given.length > 0)
      throw new InvalidOptionError(
        '--ovsdb-ca/--ovsdb-cert/--ovsdb-key',
        ovsdb,
        'an ssl:HOST:PORT --ovsdb endpoint',
      );
    return undefined;
  }
  for (const [flag, v] of [
    ['--ovsdb-ca', f.ca],
    ['--ovsdb-cert', f.cert],
    ['--ovsdb-key', f.key],
  ] as const) {
    // ovsdb-server with --ca-cert requires a client certificate (stream-ssl), so all three are needed.
    if (v === undefined || v === '')
      throw new InvalidOptionError(
        flag,
        v ?? '',
        `a PEM file: --ovsdb ${ovsdb} needs --ovsdb-ca, --ovsdb-cert and --ovsdb-key`,
      );
    try {
      accessSync(v, fsConstants.R_OK);
    } catch (err) {
      throw new InvalidOptionError(flag, v, `a readable PEM file (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return { caFile: f.ca, certFile: f.cert, keyFile: f.key, checkHostname: f.checkHostname } as TlsOptions;
}

main().catch((err: unknown) => {
  process.stderr.write(`ovs-container-network: ${describeError(err)}\n`);
  process.exit(1);
});
