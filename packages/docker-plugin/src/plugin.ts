// Everything wired together: OVSDB replica + rtnetlink handle → driver core → Fastify app → unix socket,
// plus the reconcile loop and the optional metrics listener. The bin parses flags and calls startPlugin.
import { NetlinkHandle } from '@ovs-container-network/netlink';
import { NftHandle } from '@ovs-container-network/netlink/nftables';
import type { TlsOptions } from '@ovs-container-network/ovsdb';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DhcpAwareIpam, DhcpIpam, type EndpointAddress } from './core/dhcp-ipam.js';
import { DEFAULT_DRIVER_NAME, OvsNetworkDriver } from './core/driver.js';
import { describeError, InvalidRequestError } from './core/errors.js';
import { NorthSouth } from './core/external/north-south.js';
import { dockerPortMap, LABEL_PORTMAP, parsePortMap } from './core/external/portmap.js';
import { OvsIpamDriver } from './core/ipam-driver.js';
import type { KernelHandle } from './core/kernel.js';
import { openHostKernel } from './core/link-reaper.js';
import type { DatapathType } from './core/options.js';
import type { OvnConfig } from './core/ovn/config.js';
import { OvnIpamDispatch, OvnNetworkDispatch } from './core/ovn/dispatch.js';
import type { OvnDriver } from './core/ovn/driver.js';
import { startOvnMode } from './core/ovn/start.js';
import { OvsdbBackend } from './core/ovs/backend.js';
import { EXT } from './core/records.js';
import { build } from './http/app.js';
import { PluginMetrics } from './http/metrics.js';
import { defaultSocketPath, listenUnix } from './http/server.js';

export interface PluginOptions {
  ovsdb: string | readonly string[];
  name?: string;
  socket?: string;
  datapathType?: DatapathType;
  /** `HOST:PORT` for Prometheus metrics. */
  metrics?: string;
  prefix?: string;
  orphanGraceMs?: number;
  reconcileIntervalMs?: number;
  logger?: FastifyBaseLogger;
  /** CA/certificate/key for `ssl:` OVSDB endpoints. */
  ovsdbTls?: TlsOptions;
  /** Every Docker call is answered within this many ms, OVSDB outage or not (default 10 000). */
  callTimeoutMs?: number;
  /** OVN mode (`--ovn-*` flags): networks with `-o mode=ovn` are OVN logical switches. */
  ovn?: OvnConfig;
  /** How long to wait for the first OVSDB snapshot at start (default 30 000). */
  ovsdbReadyTimeoutMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

export interface RunningPlugin {
  readonly app: FastifyInstance;
  readonly driver: OvsNetworkDriver;
  readonly backend: OvsdbBackend;
  readonly socket: string;
  readonly metricsApp: FastifyInstance | undefined;
  /** Runs one reconciliation now. */
  reconcile(): Promise<{ removed: string[] }>;
  close(): Promise<void>;
  /** What `close()` is waiting for now (undefined before it starts and once it is done); for diagnostics. */
  readonly closing: string | undefined;
}

export async function startPlugin(opts: PluginOptions): Promise<RunningPlugin> {
  const name = opts.name ?? DEFAULT_DRIVER_NAME;
  const log = opts.logger;
  const callTimeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const backend = await OvsdbBackend.open({
    endpoint: opts.ovsdb,
    ...(opts.ovsdbTls ? { tls: opts.ovsdbTls } : {}),
    ...(log ? { logger: log } : {}),
    ...(opts.ovsdbReadyTimeoutMs === undefined ? {} : { readyTimeoutMs: opts.ovsdbReadyTimeoutMs }),
    // Shorter than the call bound, so an outage is answered with the OVSDB error itself; the HTTP bound
    // below is the safety net for anything else that hangs.
    unreachableTimeoutMs: Math.max(100, Math.round(callTimeoutMs * 0.8)),
  });
  const kernel: KernelHandle = openHostKernel();
  // ---- DHCP IPAM mode (core/dhcp-ipam.ts): its narrow view of the replica, typed transactions ----
  const port = (p: ReturnType<typeof backend.portByName>) =>
    p && { uuid: p._uuid, name: p.name, externalIds: p.external_ids };
  const dhcp = new DhcpIpam({
    owner: name,
    prefix: opts.prefix ?? 'ocn',
    ovs: {
      rootExternalIds: () => backend.root()?.external_ids ?? {},
      bridgeByName: (n) => {
        const b = backend.bridgeByName(n);
        return b && { uuid: b._uuid, name: b.name, ports: b.ports };
      },
      portByName: (n) => port(backend.portByName(n)),
      ifaceByName: (n) => {
        const i = backend.ifaceByName(n);
        return i && { ofport: i.ofport === null ? undefined : Number(i.ofport), error: i.error ?? undefined };
      },
      *ports() {
        for (const p of backend.ports()) yield { uuid: p._uuid, name: p.name, externalIds: p.external_ids };
      },
      transact: async (build) => {
        await backend.transact(build);
      },
    },
    kernel,
    openKernel: (ns) => NetlinkHandle.open(ns),
    callTimeoutMs,
    ...(opts.orphanGraceMs === undefined ? {} : { orphanGraceMs: opts.orphanGraceMs }),
    ...(log ? { logger: log } : {}),
  });
  const driver = new OvsNetworkDriver({
    dhcp,
    name,
    ovs: backend,
    kernel,
    datapathType: opts.datapathType ?? 'system',
    ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
    ...(opts.orphanGraceMs === undefined ? {} : { orphanGraceMs: opts.orphanGraceMs }),
    ...(log ? { logger: log } : {}),
  });
  const staticIpam = new OvsIpamDriver(backend, name);
  // --- OVN mode hook: networks with -o mode=ovn go to core/ovn (dispatch.ts) ---
  const ovnMode = opts.ovn
    ? await startOvnMode({
        name,
        config: opts.ovn,
        ovsdb: opts.ovsdb,
        ovsdbTls: opts.ovsdbTls,
        kernel,
        prefix: opts.prefix,
        graceMs: opts.orphanGraceMs,
        logger: log,
      }).catch(async (err: unknown) => {
        await backend.close();
        kernel.close();
        throw err;
      })
    : undefined;
  const ipam = new OvnIpamDispatch(new DhcpAwareIpam(staticIpam, dhcp), ovnMode?.driver);
  const dhcpEndpoints = function* (): Iterable<EndpointAddress> {
    for (const p of backend.ports()) {
      const net = driver.isOwnEndpointPort(p) ? driver.network(p.external_ids[EXT.network] ?? '') : undefined;
      const ipv4 = p.external_ids[EXT.ipv4];
      if (net && ipv4) yield { bridge: net.record.bridge, vlan: net.record.vlan, ipv4 };
    }
  };
  // ns16: published ports, outbound NAT, DOCKER-USER accepts (rebuilt from OVS before serving).
  const nft = NftHandle.open('host');
  const external = new NorthSouth({
    driver,
    ovs: backend,
    nft,
    prefix: driver.prefix,
    ...(ovnMode ? { extra: ovnMode.driver.gateway } : {}),
    ...(log ? { logger: log } : {}),
  });
  const metrics = new PluginMetrics(
    () => driver.stats(),
    ovnMode ? () => ovnMode.driver.remoteWaits : undefined,
  );
  const app = build({
    driver: new OvnNetworkDispatch(driver, ovnMode?.driver),
    ipam,
    metrics,
    callTimeoutMs,
    explainTimeout: () => backend.unreachable(),
    external: ovnMode ? ovnAwareExternal(external, ovnMode.driver) : external,
    ...(log ? { logger: log } : {}),
  });
  const socket = opts.socket ?? defaultSocketPath(name);

  // Everything the plugin holds is closed by the app's onClose hook, in this order, whether `close()` is
  // called or the start below fails half-way (then the app is closed before the error is rethrown).
  let timer: NodeJS.Timeout | undefined;
  let metricsApp: FastifyInstance | undefined;
  let reconciling: Promise<{ removed: string[] }> | undefined;
  const graceMs = opts.orphanGraceMs ?? 60_000;
  const reconcile = () => {
    reconciling ??= (async () => {
      const r = await driver.reconcile();
      // Addresses handed out by a RequestAddress whose reply was lost (a restart with the call in flight):
      // Docker never uses or releases them.
      const reaped = [
        ...(await staticIpam.reap(driver.addressesInUse(), graceMs)),
        ...(await dhcp.reap(dhcpEndpoints())),
      ];
      if (reaped.length > 0) log?.warn({ addresses: reaped }, 'released lost IPAM allocations');
      const o = ovnMode ? await ovnMode.driver.reconcile() : { removed: [] };
      await external.sync({ force: true }); // ns16
      return { removed: [...r.removed, ...reaped, ...o.removed] };
    })().finally(() => {
      reconciling = undefined;
    });
    return reconciling;
  };
  // Each step is named while it runs, so a shutdown that hangs can say where (the bin's watchdog logs it).
  let closing: string | undefined;
  const step = async (what: string, fn: () => unknown): Promise<void> => {
    closing = what;
    const t0 = performance.now();
    await fn();
    log?.debug({ step: what, ms: Math.round((performance.now() - t0) * 1000) / 1000 }, 'closed');
  };
  app.addHook('preClose', async () => {
    closing = 'the Docker API socket (calls in flight, open connections)';
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    await step('the metrics listener', () => metricsApp?.close());
    await step('the reconciliation in progress', () => reconciling?.catch(() => undefined));
    await step('OVN mode', () => ovnMode?.close());
    await step('the DHCP lease keeper', () => dhcp.close());
    await step('the port proxies', () => external.close()); // ns16
    await step('nf_tables', () => nft.close());
    await step('the OVSDB session', () => backend.close());
    await step('the rtnetlink handle', () => kernel.close());
    closing = undefined;
  });
  try {
    // Before serving: whatever a crash or a daemon restart left behind goes now.
    const first = await reconcile().catch((err: unknown) => {
      log?.error({ err: describeError(err) }, 'initial reconciliation failed');
      return { removed: [] };
    });
    log?.info({ removed: first.removed.length }, 'initial reconciliation done');
    dhcp.start(); // renewals of the leases recorded in OVS go on
    await external.start(); // ns16

    await listenUnix(app, socket);
    if (opts.metrics) {
      const m = /^(.*):(\d+)$/.exec(opts.metrics);
      if (!m) throw new Error(`--metrics ${opts.metrics}: expected HOST:PORT`);
      // A scrape in flight at close would keep its connection alive afterwards (as on the Docker socket, see
      // http/app.ts); a scrape is safe to cut.
      metricsApp = Fastify({ forceCloseConnections: true });
      metricsApp.get('/metrics', async (_req, reply) => {
        reply.header('content-type', metrics.registry.contentType);
        return metrics.registry.metrics();
      });
      await metricsApp.listen({ host: m[1] || '127.0.0.1', port: Number(m[2]) });
    }
    const interval = opts.reconcileIntervalMs ?? 30_000;
    if (interval > 0) {
      timer = setInterval(() => {
        reconcile().catch((err: unknown) => log?.error({ err: describeError(err) }, 'reconciliation failed'));
      }, interval);
      timer.unref();
    }
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  log?.info({ socket, name, ovsdb: opts.ovsdb, datapathType: driver.datapathType }, 'plugin listening');

  return {
    app,
    driver,
    backend,
    socket,
    metricsApp,
    reconcile,
    async close() {
      await app.close();
    },
    get closing() {
      return closing;
    },
  };
}

/**
 * ProgramExternalConnectivity of an OVN endpoint goes to its chassis' gateway (core/ovn/gateway.ts):
 * outbound NAT always (unless the network says masquerade=false), published ports when Docker sends a port
 * map; NorthSouth binds the host ports (its proxy: 127.0.0.1 and the taken-port check) and writes the
 * host's DNAT to the gateway router. Single-host networks go to NorthSouth as before.
 */
type External = Pick<NorthSouth, 'program' | 'revoke' | 'operInfo' | 'sync'>;
function ovnAwareExternal(external: NorthSouth, ovn: OvnDriver): External {
  const isOvn = (req: { NetworkID?: unknown }) =>
    typeof req.NetworkID === 'string' && ovn.handlesNetwork(req.NetworkID);
  return {
    async program(req) {
      if (!isOvn(req)) return external.program(req);
      if (typeof req.EndpointID !== 'string')
        throw new InvalidRequestError('invalid request: expected an EndpointID string');
      const endpointId = req.EndpointID;
      const requests = parsePortMap(req.Options?.[LABEL_PORTMAP]);
      await ovn.gateway.program(endpointId, requests, async (vip, commit) => {
        await external.publishVia(endpointId, requests, { ipv4: vip }, commit);
      });
    },
    async revoke(req) {
      if (!isOvn(req)) return external.revoke(req);
      if (typeof req.EndpointID === 'string') await ovn.gateway.revoke([req.EndpointID]);
      await external.sync();
    },
    sync: () => external.sync(),
    operInfo: (endpointId: string) => {
      const b = ovn.gateway.bindings(endpointId);
      return b.length > 0 ? { [LABEL_PORTMAP]: dockerPortMap(b) } : external.operInfo(endpointId);
    },
  };
}
