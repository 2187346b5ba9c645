// Example 4 must keep working: the core embedded in a plain node:http service wires namespaces on request.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  canPing,
  createNetns,
  deleteNetns,
  run,
  tcpTransfer,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { ovsdbEndpoint, startExample, stop } from '../lib/run-example.js';

const dir = mkdtempSync('/run/ocnt-svc-');
const socketPath = join(dir, 'wire.sock');
const bridge = uniqueName('br');

function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

t.test('embedded-service wires namespaces over HTTP', async (t) => {
  const [a, b] = [await createNetns(uniqueName('ns')), await createNetns(uniqueName('ns'))];
  const svc = await startExample(
    'embedded-service.ts',
    ['--ovsdb', ovsdbEndpoint(), '--listen', socketPath],
    /listening on/,
  );
  t.teardown(async () => {
    await stop(svc.child);
    await Promise.all([deleteNetns(a), deleteNetns(b)]);
    await run('ovs-vsctl', [`--db=${ovsdbEndpoint()}`, '--if-exists', 'del-br', bridge], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const attach = (ns: string, ip: string) =>
    call('POST', '/attachments', {
      bridge,
      target: { netns: ns },
      containerId: ns,
      ifname: 'eth1',
      addresses: [`${ip}/24`],
      vlan: 130,
    });
  const [ra, rb] = await Promise.all([attach(a, '10.98.0.1'), attach(b, '10.98.0.2')]);
  t.equal(ra.status, 201, JSON.stringify(ra.json));
  t.equal(rb.status, 201, JSON.stringify(rb.json));
  t.match(ra.json, { bridge, containerId: a, ifname: 'eth1', vlan: 130, managed: true });
  t.ok(await canPing(a, '10.98.0.2'), 'ping through the service-made ports');
  t.equal(await tcpTransfer(a, b, '10.98.0.2', 1 << 20), 1 << 20, 'TCP through the service-made ports');

  const list = await call('GET', `/attachments?bridge=${bridge}`);
  t.equal((list.json as unknown[]).length, 2, 'GET lists both');

  const bad = await call('POST', '/attachments', {
    bridge,
    target: { netns: a },
    ifname: 'eth2',
    vlan: 5000,
  });
  t.equal(bad.status, 400, 'a bad VLAN is a 400');
  t.match(bad.json, { code: 'PLUGIN_ERR_INVALID_OPTION', error: /vlan=5000/ });

  const moved = await call('POST', `/attachments/${encodeURIComponent(b)}/eth1/vlan`, { vlan: 131 });
  t.equal(moved.status, 200);
  t.match(moved.json, { vlan: 131 });
  t.notOk(await canPing(a, '10.98.0.2', 1), 'other VLAN: no ping');

  const missing = await call('POST', '/attachments/nobody/eth1/vlan', { vlan: 3 });
  t.equal(missing.status, 404, 'an unknown attachment is a 404');

  const del = await call('DELETE', `/attachments/${encodeURIComponent(a)}`);
  t.same(del.json, { removed: 1 });
  const delB = await call('DELETE', `/attachments/${encodeURIComponent(b)}/eth1`);
  t.same(delB.json, { removed: true });
  t.same((await call('GET', `/attachments?bridge=${bridge}`)).json, [], 'nothing attached');

  t.equal(await stop(svc.child), 0, 'stops cleanly on SIGTERM');
  t.match(svc.output(), /stopped/);
});
