// Everything wired together: OVSDB replica + rtnetlink handle → driver core → Fastify app → unix socket,
// plus the reconcile loop and the optional metrics listener. The bin parses flags and calls startPlugin.
import { NetlinkHandle } from '@ovs-container-network/netlink';
import type { TlsOptions } from '@ovs-container-network/ovsdb';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DEFAULT_DRIVER_NAME, OvsNetworkDriver } from './core/driver.js';
import { describeError } from './core/errors.js';
import { OvsIpamDriver } from './core/ipam-driver.js';
import type { KernelHandle } from './core/kernel.js';
import type { DatapathType } from './core/options.js';
import { OvsdbBackend } from './core/ovs/backend.js';
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
  const kernel: KernelHandle = NetlinkHandle.open('host');
  const driver = new OvsNetworkDriver({
    name,
    ovs: backend,
    kernel,
    datapathType: opts.datapathType ?? 'system',
    ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
    ...(opts.orphanGraceMs === undefined ? {} : { orphanGraceMs: opts.orphanGraceMs }),
    ...(log ? { logger: log } : {}),
  });
  const ipam = new OvsIpamDriver(backend, name);
  const metrics = new PluginMetrics(() => driver.stats());
  const app = build({
    driver,
    ipam,
    metrics,
    callTimeoutMs,
    explainTimeout: () => backend.unreachable(),
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
      const reaped = await ipam.reap(driver.addressesInUse(), graceMs);
      if (reaped.length > 0) log?.warn({ addresses: reaped }, 'released lost IPAM allocations');
      return { removed: [...r.removed, ...reaped] };
    })().finally(() => {
      reconciling = undefined;
    });
    return reconciling;
  };
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    await metricsApp?.close();
    await reconciling?.catch(() => undefined);
    await backend.close();
    kernel.close();
  });
  try {
    // Before serving: whatever a crash or a daemon restart left behind goes now.
    const first = await reconcile().catch((err: unknown) => {
      log?.error({ err: describeError(err) }, 'initial reconciliation failed');
      return { removed: [] };
    });
    log?.info({ removed: first.removed.length }, 'initial reconciliation done');

    await listenUnix(app, socket);
    if (opts.metrics) {
      const m = /^(.*):(\d+)$/.exec(opts.metrics);
      if (!m) throw new Error(`--metrics ${opts.metrics}: expected HOST:PORT`);
      metricsApp = Fastify();
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
  };
}
