// The Fastify app answering Docker's plugin calls. `build()` never listens (server.ts does). Wire quirks
// (PROTOCOLS.md §3, moby pkg/plugins/client.go): every call is a POST with NO Content-Type and a body of Go
// JSON plus a newline, calls without arguments send an empty body, and any status but 200 is an error whose
// body is `{"Err": "..."}`. So: one catch-all body parser that tolerates empty bodies, every error (bad
// JSON, schema mismatch, unknown route, driver failure) answered 500 {"Err"}, and never an empty 200.

import { createServer } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import * as S from '../core/api.js';
import { clip, describeError, PluginError, ResentWithoutBodyError } from '../core/errors.js';
import { GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE } from '../core/ipam.js';
import type { IpamDriverApi, NetworkDriverApi } from '../core/types.js';
import type { PluginMetrics } from './metrics.js';

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

export interface BuildOptions {
  driver: NetworkDriverApi;
  /** The IPAM driver; when absent, Activate does not announce "IpamDriver". */
  ipam?: IpamDriverApi;
  /** A pino logger (e.g. `pino()`); default: no logging. */
  logger?: FastifyBaseLogger;
  metrics?: PluginMetrics;
  /**
   * Every call is answered within this many ms (default 15 000): a call still running then gets 500 with
   * `explainTimeout()` or "no answer within …" (legacy plugin calls have no timeout of their own in Docker,
   * PROTOCOLS.md §3). The work itself is bounded too (OVSDB waits: OvsdbBackend unreachableTimeoutMs).
   */
  callTimeoutMs?: number;
  /** Says why calls are slow, e.g. "OVSDB at … is unreachable since …"; undefined when nothing is known. */
  explainTimeout?: () => string | undefined;
  /** A request must arrive in full within this many ms, or its connection is closed (default 10 000). */
  requestTimeoutMs?: number;
  // ---- ns16: published ports (core/external/north-south.ts); absent: the calls are answered {} ----
  external?: {
    program(req: Record<string, unknown>): Promise<void>;
    revoke(req: Record<string, unknown>): Promise<void>;
    operInfo(endpointId: string): Record<string, unknown>;
    /** Brings the firewall up to date with the networks (DOCKER-USER accepts): before Create/DeleteNetwork answer. */
    sync(): Promise<void>;
  };
}

/** Deepest JSON nesting accepted; Docker's bodies nest 4 levels (Options → generic → value). */
export const MAX_BODY_DEPTH = 32;
/** Longest error message sent back (a message may quote parts of the request). */
export const MAX_ERR_CHARS = 2048;

/**
 * How deep `text` nests, counted before parsing (JSON.parse recurses: a 400k-deep body overflowed the
 * stack). Brackets inside strings do not count; stops at the first level above `limit`.
 */
export function jsonDepth(text: string, limit = MAX_BODY_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The answer to an empty-body resend of a call that needs no body to be answered (no-op, read-only). */
    emptyReply?: Record<string, unknown>;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    ocnStart?: bigint;
    ocnError?: string;
    ocnTimer?: NodeJS.Timeout;
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
  const requestTimeout = opts.requestTimeoutMs ?? 10_000;
  const callTimeout = opts.callTimeoutMs ?? 15_000;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : {}),
    // One line per call comes from the onResponse hook below, with the call's ids and duration.
    logController: new LogController({ disableRequestLogging: true }),
    // Docker's daemon sends bodies of a few KB; 1 MiB leaves room and bounds a hostile client.
    bodyLimit: 1024 * 1024,
    return503OnClosing: false,
    // A request (headers and body) must arrive within requestTimeout or its connection is closed; Node
    // checks every connectionsCheckingInterval (default 30 s), so check each second. Idle keep-alive
    // connections are never closed by us: moby's plugin transport (an http.Transport{} without
    // IdleConnTimeout) would race our close with its next request, see EOF, and resend that call with an
    // empty body (pkg/plugins/client.go).
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout,
          headersTimeout: requestTimeout,
          connectionsCheckingInterval: Math.min(1000, requestTimeout),
          keepAliveTimeout: 0,
        },
        handler,
      ),
    requestTimeout,
    keepAliveTimeout: 0,
    // No type coercion: a NetworkID sent as a number is an error, not the string "5" (Fastify's default
    // Ajv coerces scalars).
    ajv: { customOptions: { coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(
        new Error('request body is not valid UTF-8 (Docker sends Go JSON, which is UTF-8)'),
        undefined,
      );
    }
    if (text.trim() === '') return done(null, undefined);
    if (jsonDepth(text) > MAX_BODY_DEPTH)
      return done(
        new Error(`request body nests deeper than ${MAX_BODY_DEPTH} levels; Docker's bodies nest a few`),
        undefined,
      );
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new Error(`request body is not valid JSON: ${clip((err as Error).message, 200)}`), undefined);
    }
  });

  app.addHook('onRequest', async (req) => {
    req.ocnStart = process.hrtime.bigint();
    req.log.debug({ call: callName(req) }, 'call received');
  });
  // An empty body (Content-Length: 0 never reaches the parser; Fastify leaves the body undefined) on a call
  // that has one is Docker resending a call whose first attempt was cut off (ResentWithoutBodyError). A
  // call that can be answered without its body is answered; the others fail with that cause.
  app.addHook('preValidation', async (req, reply) => {
    if (req.body !== undefined) return;
    const schema = req.routeOptions.schema;
    if (!schema?.body) return;
    const answer = req.routeOptions.config.emptyReply;
    if (answer) {
      req.log.warn({ call: callName(req) }, 'answered a call Docker resent without its body');
      return reply.send(answer);
    }
    throw new ResentWithoutBodyError(callName(req));
  });
  // Every call is answered in bounded time.
  app.addHook('preHandler', async (req, reply) => {
    const timer = setTimeout(() => {
      if (reply.sent) return;
      const why = opts.explainTimeout?.();
      const message = `${callName(req)} got no answer within ${callTimeout} ms${why ? `: ${why}` : ''}`;
      req.ocnError = message;
      void reply.code(500).send({ Err: message });
    }, callTimeout);
    reply.raw.once('close', () => clearTimeout(timer));
    req.ocnTimer = timer;
  });
  // Closing. Node's server.close() destroys the connections idle at that moment; one with a call in flight
  // stays open after its answer (keep-alive, and keepAliveTimeout is 0 above), so close() would wait for Docker
  // to hang up, which it never does. From preClose on, every answer says `Connection: close` (Node ends the
  // socket after it; moby's transport does not reuse it), and each answer sent lets the connections that are
  // idle by then go too (one whose answer was already on its way when closing began).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-type', PLUGIN_CONTENT_TYPE);
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    clearTimeout(req.ocnTimer);
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
    message = clip(message, MAX_ERR_CHARS);
    req.ocnError = message;
    if (!(err instanceof PluginError) && !(err as { validation?: unknown }).validation)
      req.log.error({ call: callName(req), err: message }, 'unexpected error');
    if (reply.sent) return;
    reply.code(500).send({ Err: message });
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `unknown plugin call ${req.method} ${clip(req.url, 200)}: this plugin implements NetworkDriver${opts.ipam ? ' and IpamDriver' : ''}`;
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
      await opts.external?.sync(); // ns16: the network's DOCKER-USER accepts are there when Docker hears back
      return {};
    },
  );
  app.post(
    '/NetworkDriver.DeleteNetwork',
    { schema: { body: S.NetworkRequest, response: { 200: S.Empty, ...r500 } } },
    async (req) => {
      await d.deleteNetwork(req.body);
      await opts.external?.sync(); // ns16: and gone when `docker network rm` returns
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
  // Read-only: an empty-body resend gets "no information" (Docker calls it often and only shows it).
  app.post(
    '/NetworkDriver.EndpointOperInfo',
    {
      schema: { body: S.EndpointRequest, response: { 200: S.OperInfoReply, ...r500 } },
      config: { emptyReply: { Value: {} } },
    },
    async (req) => ({
      Value: {
        ...(await d.endpointOperInfo(req.body)),
        ...opts.external?.operInfo(req.body.EndpointID), // ns16
      },
    }),
  );
  app.post(
    '/NetworkDriver.Join',
    { schema: { body: S.JoinRequest, response: { 200: S.JoinReply, ...r500 } } },
    async (req) => d.join(req.body),
  );
  // A no-op (DeleteEndpoint removes the veth): answerable without its body.
  app.post(
    '/NetworkDriver.Leave',
    { schema: { body: S.EndpointRequest, response: { 200: S.Empty, ...r500 } }, config: { emptyReply: {} } },
    async (req) => {
      await d.leave(req.body);
      return {};
    },
  );
  // ---- ovn17: changing a running endpoint's limits. Docker has no endpoint-update call, so this route is
  // the plugin's own, on the same socket (root only, like Docker's access to it). Body: {NetworkID,
  // EndpointID, Options: {"rate.ingress": "10mbit", …}}, both ids as `docker inspect` shows them.
  app.post(
    '/Ocn.SetRateLimit',
    { schema: { body: S.SetRateLimitRequest, response: { 200: S.SetRateLimitReply, ...r500 } } },
    async (req) => {
      if (!d.setEndpointQos)
        throw new PluginError('PLUGIN_ERR_INTERNAL', 'this driver cannot change rate limits');
      return d.setEndpointQos(req.body);
    },
  );
  // ---- ns16: published ports. Revoke and Program come with {NetworkID, EndpointID, Options}. ----
  const ext = opts.external;
  if (ext) {
    app.post(
      '/NetworkDriver.ProgramExternalConnectivity',
      { schema: { body: S.AnyRequest, response: { 200: S.Empty, ...r500 } } },
      async (req) => {
        await ext.program(req.body);
        return {};
      },
    );
    // Revoking is idempotent and removal also follows from OVS (the endpoint's port going): a resend
    // without its body can be answered at once.
    app.post(
      '/NetworkDriver.RevokeExternalConnectivity',
      { schema: { body: S.AnyRequest, response: { 200: S.Empty, ...r500 } }, config: { emptyReply: {} } },
      async (req) => {
        await ext.revoke(req.body);
        return {};
      },
    );
  }
  // ---- end ns16 ----
  for (const call of [
    ...(ext ? [] : ['ProgramExternalConnectivity', 'RevokeExternalConnectivity']),
    'DiscoverNew',
    'DiscoverDelete',
  ]) {
    // Without `external`, port mappings are left to the user; discovery is for multi-host drivers.
    app.post(
      `/NetworkDriver.${call}`,
      { schema: { body: S.AnyRequest, response: { 200: S.Empty, ...r500 } }, config: { emptyReply: {} } },
      async () => ({}),
    );
  }

  const ipam = opts.ipam;
  if (ipam) {
    // IpamDriver (moby libnetwork/ipams/remote/api/api.go)
    app.post(
      '/IpamDriver.GetCapabilities',
      { schema: { response: { 200: S.IpamCapabilitiesReply, ...r500 } } },
      async () => ({ RequiresMACAddress: ipam.requiresMacAddress === true, RequiresRequestReplay: false }),
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
