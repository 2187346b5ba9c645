// The Fastify app answering Docker's plugin calls. `build()` never listens (server.ts does). Wire quirks
// (PROTOCOLS.md §3, moby pkg/plugins/client.go): every call is a POST with NO Content-Type and a body of Go
// JSON plus a newline, calls without arguments send an empty body, and any status but 200 is an error whose
// body is `{"Err": "..."}`. So: one catch-all body parser that tolerates empty bodies, every error (bad
// JSON, schema mismatch, unknown route, driver failure) answered 500 {"Err"}, and never an empty 200.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { describeError } from '../core/errors.js';
import { GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE } from '../core/ipam.js';
import type { IpamDriverApi, NetworkDriverApi } from '../core/types.js';
import type { PluginMetrics } from './metrics.js';
import * as S from './schemas.js';

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

export interface BuildOptions {
  driver: NetworkDriverApi;
  /** The IPAM driver; when absent, Activate does not announce "IpamDriver". */
  ipam?: IpamDriverApi;
  /** A pino logger (e.g. `pino()`); default: no logging. */
  logger?: FastifyBaseLogger;
  metrics?: PluginMetrics;
}

declare module 'fastify' {
  interface FastifyRequest {
    ocnStart?: bigint;
    ocnError?: string;
  }
}

/** What the one log line per call carries: the ids found in the request body. */
function ids(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [k, key] of [
    ['NetworkID', 'networkId'],
    ['EndpointID', 'endpointId'],
    ['PoolID', 'poolId'],
    ['Address', 'address'],
  ] as const) {
    const v = b[k];
    if (typeof v === 'string' && v !== '') out[key] = k.endsWith('ID') ? v.slice(0, 12) : v;
  }
  return out;
}

function callName(req: FastifyRequest): string {
  return req.routeOptions.url ? req.routeOptions.url.slice(1) : 'unknown';
}

export function build(opts: BuildOptions): FastifyInstance {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : {}),
    // One line per call comes from the onResponse hook below, with the call's ids and duration.
    logController: new LogController({ disableRequestLogging: true }),
    // Docker's daemon sends bodies of a few KB; 1 MiB leaves room and bounds a hostile client.
    bodyLimit: 1024 * 1024,
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new Error(`request body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.addHook('onRequest', async (req) => {
    req.ocnStart = process.hrtime.bigint();
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-type', PLUGIN_CONTENT_TYPE);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const seconds = Number(process.hrtime.bigint() - (req.ocnStart ?? process.hrtime.bigint())) / 1e9;
    const call = callName(req);
    const ok = reply.statusCode === 200;
    opts.metrics?.observe(call, seconds, ok);
    const line = { call, ...ids(req.body), ms: Math.round(seconds * 1e6) / 1e3, status: reply.statusCode };
    if (ok) req.log.info(line, call);
    else req.log.warn({ ...line, err: req.ocnError }, `${call} failed`);
  });

  app.setErrorHandler((err, req, reply) => {
    let message = describeError(err);
    if ((err as { validation?: unknown }).validation) {
      message = `invalid ${callName(req)} request: ${(err as Error).message}`;
    }
    req.ocnError = message;
    reply.code(500).send({ Err: message });
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `unknown plugin call ${req.method} ${req.url}: this plugin implements NetworkDriver${opts.ipam ? ' and IpamDriver' : ''}`;
    req.ocnError = message;
    reply.code(500).send({ Err: message });
  });

  const r500 = { 500: S.ErrReply };
  const d = opts.driver;

  app.post('/Plugin.Activate', { schema: { response: { 200: S.ActivateReply, ...r500 } } }, async () => ({
    Implements: opts.ipam ? ['NetworkDriver', 'IpamDriver'] : ['NetworkDriver'],
  }));

  // NetworkDriver (moby libnetwork/drivers/remote/api/api.go)
  app.post(
    '/NetworkDriver.GetCapabilities',
    { schema: { response: { 200: S.NetworkCapabilitiesReply, ...r500 } } },
    // Scope global needs a cluster store (swarm/KV); this driver's state is the local OVS.
    async () => ({ Scope: 'local', ConnectivityScope: 'local' }),
  );
  app.post(
    '/NetworkDriver.CreateNetwork',
    { schema: { body: S.CreateNetworkRequest, response: { 200: S.Empty, ...r500 } } },
    async (req) => {
      await d.createNetwork(req.body);
      return {};
    },
  );
  app.post(
    '/NetworkDriver.DeleteNetwork',
    { schema: { body: S.NetworkRequest, response: { 200: S.Empty, ...r500 } } },
    async (req) => {
      await d.deleteNetwork(req.body);
      return {};
    },
  );
  app.post(
    '/NetworkDriver.CreateEndpoint',
    { schema: { body: S.CreateEndpointRequest, response: { 200: S.CreateEndpointReply, ...r500 } } },
    async (req) => d.createEndpoint(req.body),
  );
  app.post(
    '/NetworkDriver.DeleteEndpoint',
    { schema: { body: S.EndpointRequest, response: { 200: S.Empty, ...r500 } } },
    async (req) => {
      await d.deleteEndpoint(req.body);
      return {};
    },
  );
  app.post(
    '/NetworkDriver.EndpointOperInfo',
    { schema: { body: S.EndpointRequest, response: { 200: S.OperInfoReply, ...r500 } } },
    async (req) => ({ Value: await d.endpointOperInfo(req.body) }),
  );
  app.post(
    '/NetworkDriver.Join',
    { schema: { body: S.JoinRequest, response: { 200: S.JoinReply, ...r500 } } },
    async (req) => d.join(req.body),
  );
  app.post(
    '/NetworkDriver.Leave',
    { schema: { body: S.EndpointRequest, response: { 200: S.Empty, ...r500 } } },
    async (req) => {
      await d.leave(req.body);
      return {};
    },
  );
  for (const call of [
    'ProgramExternalConnectivity',
    'RevokeExternalConnectivity',
    'DiscoverNew',
    'DiscoverDelete',
  ]) {
    // Port mappings need NAT, which this driver leaves to the user; discovery is for multi-host drivers.
    app.post(
      `/NetworkDriver.${call}`,
      { schema: { body: S.AnyRequest, response: { 200: S.Empty, ...r500 } } },
      async () => ({}),
    );
  }

  const ipam = opts.ipam;
  if (ipam) {
    // IpamDriver (moby libnetwork/ipams/remote/api/api.go)
    app.post(
      '/IpamDriver.GetCapabilities',
      { schema: { response: { 200: S.IpamCapabilitiesReply, ...r500 } } },
      async () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    );
    app.post(
      '/IpamDriver.GetDefaultAddressSpaces',
      { schema: { response: { 200: S.AddressSpacesReply, ...r500 } } },
      async () => ({
        LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE,
        GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE,
      }),
    );
    app.post(
      '/IpamDriver.RequestPool',
      { schema: { body: S.RequestPoolRequest, response: { 200: S.RequestPoolReply, ...r500 } } },
      async (req) => ipam.requestPool(req.body),
    );
    app.post(
      '/IpamDriver.ReleasePool',
      { schema: { body: S.ReleasePoolRequest, response: { 200: S.Empty, ...r500 } } },
      async (req) => {
        await ipam.releasePool(req.body);
        return {};
      },
    );
    app.post(
      '/IpamDriver.RequestAddress',
      { schema: { body: S.RequestAddressRequest, response: { 200: S.RequestAddressReply, ...r500 } } },
      async (req) => ipam.requestAddress(req.body),
    );
    app.post(
      '/IpamDriver.ReleaseAddress',
      { schema: { body: S.ReleaseAddressRequest, response: { 200: S.Empty, ...r500 } } },
      async (req) => {
        await ipam.releaseAddress(req.body);
        return {};
      },
    );
  }
  return app;
}
