// Example 4 — the plugin's core embedded in another Node service: a tiny HTTP API (node:http, no Fastify)
// that wires network namespaces or containers to OVS on request. One OVSDB connection and one replica are
// shared by every request; calls run concurrently; errors map to HTTP statuses by their stable `code`.
//
//   tsx examples/embedded-service.ts [--ovsdb EP] [--listen 127.0.0.1:8700 | --listen /run/wire.sock]
//
//   curl -s localhost:8700/attachments
//   curl -s -XPOST localhost:8700/attachments -d '{"bridge":"br-lab","target":{"netns":"blue"},
//        "containerId":"blue","ifname":"eth1","addresses":["10.0.0.2/24"],"vlan":10}'
//   curl -s -XPOST localhost:8700/attachments/blue/eth1/vlan -d '{"vlan":20}'
//   curl -s -XDELETE localhost:8700/attachments/blue/eth1
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AttachRequest, Orchestrator } from '@ovs-container-network/docker-plugin/orchestrator';
import { flags, main } from './lib/cli.js';

const opts = flags('usage: tsx examples/embedded-service.ts [--ovsdb EP] [--listen HOST:PORT|/path.sock]', {
  listen: { type: 'string', default: '127.0.0.1:8700' },
  'datapath-type': { type: 'string', default: 'netdev' },
});

/** The stable error codes of the core, as HTTP statuses. */
const STATUS: Record<string, number> = {
  PLUGIN_ERR_INVALID_OPTION: 400,
  PLUGIN_ERR_INVALID_REQUEST: 400,
  PLUGIN_ERR_NOT_FOUND: 404,
  PLUGIN_ERR_CONFLICT: 409,
};

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw Object.assign(new Error('the body is not JSON'), { code: 'PLUGIN_ERR_INVALID_REQUEST' });
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

main(async () => {
  const orch = await Orchestrator.connect({
    ovsdb: opts.ovsdb,
    datapathType: opts['datapath-type'] === 'system' ? 'system' : 'netdev',
  });

  // Routes: the container id in paths is what `attach` recorded (by default the namespace name's path, or
  // the containerId the caller gave); URL-encode it.
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://service');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const route = async (): Promise<[number, unknown]> => {
      if (parts[0] !== 'attachments') return [404, { error: `no route ${req.method} ${url.pathname}` }];
      if (req.method === 'GET' && parts.length === 1) {
        const bridge = url.searchParams.get('bridge');
        return [200, await orch.list(bridge === null ? {} : { bridge })];
      }
      if (req.method === 'POST' && parts.length === 1)
        return [201, await orch.attach((await body(req)) as AttachRequest)];
      const [, containerId, ifname, sub] = parts;
      if (containerId === undefined) return [404, { error: 'no container id in the path' }];
      if (req.method === 'DELETE' && ifname === undefined)
        return [200, { removed: await orch.detachAll({ containerId }) }];
      if (req.method === 'DELETE' && ifname !== undefined)
        return [200, { removed: await orch.detach({ containerId, ifname }) }];
      if (req.method === 'POST' && ifname !== undefined && sub === 'vlan')
        return [200, await orch.setVlan({ containerId, ifname }, (await body(req)) as { vlan: number })];
      return [404, { error: `no route ${req.method} ${url.pathname}` }];
    };
    route().then(
      ([status, value]) => send(res, status, value),
      (err: { code?: string; message?: string }) =>
        send(res, STATUS[err.code ?? ''] ?? 500, { error: err.message, code: err.code }),
    );
  });

  const listen = opts.listen;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.startsWith('/')) server.listen(listen, resolve);
    else {
      const i = listen.lastIndexOf(':');
      server.listen(Number(listen.slice(i + 1)), listen.slice(0, i), resolve);
    }
  });
  const addr = server.address();
  console.log(`listening on ${typeof addr === 'string' ? addr : `${addr?.address}:${addr?.port}`}`);

  // Graceful stop: no new requests, finish the running ones, close the OVSDB connection.
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await orch.close();
  console.log('stopped');
});
