import t from 'tap';
import { ConflictError } from '../../src/core/errors.js';
import { Ipam } from '../../src/core/ipam.js';
import type { IpamDriverApi, NetworkDriverApi } from '../../src/core/types.js';
import { build } from '../../src/http/app.js';
import { PluginMetrics } from '../../src/http/metrics.js';

function fakeDriver(calls: string[]): NetworkDriverApi {
  return {
    async createNetwork(req) {
      calls.push(`create ${req.NetworkID}`);
      if (req.NetworkID === 'taken') throw new ConflictError('vlan 100 is already used on bridge br0');
    },
    async deleteNetwork() {},
    async createEndpoint(req) {
      calls.push(`ep ${JSON.stringify(req.Interface)}`);
      return { Interface: { MacAddress: '02:00:00:00:00:01' } };
    },
    async deleteEndpoint() {},
    async join() {
      return { InterfaceName: { SrcName: 'ocnc1', DstPrefix: 'eth' }, Gateway: '10.0.0.1' };
    },
    async leave() {},
    async endpointOperInfo() {
      return {};
    },
  };
}

function ipamApi(): IpamDriverApi {
  const ipam = new Ipam();
  return {
    async requestPool(r) {
      return ipam.requestPool(r);
    },
    async releasePool(r) {
      ipam.releasePool(r.PoolID);
    },
    async requestAddress(r) {
      return ipam.requestAddress(r);
    },
    async releaseAddress(r) {
      ipam.releaseAddress(r);
    },
  };
}

t.test('wire quirks: no Content-Type, empty bodies, errors as 500 {"Err"}', async (t) => {
  const calls: string[] = [];
  const metrics = new PluginMetrics(() => ({ networks: 2, endpoints: 3, ovsdbConnected: true }));
  const app = build({ driver: fakeDriver(calls), ipam: ipamApi(), metrics });
  t.teardown(() => app.close());

  const act = await app.inject({ method: 'POST', url: '/Plugin.Activate' });
  t.equal(act.statusCode, 200);
  t.same(act.json(), { Implements: ['NetworkDriver', 'IpamDriver'] });

  // Docker's body: Go JSON plus a newline, and no Content-Type header at all.
  const body = `${JSON.stringify({ NetworkID: 'n1', Options: null, IPv4Data: [{ Pool: '10.0.0.0/24' }], IPv6Data: null })}\n`;
  const created = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: body });
  t.equal(created.headers['content-type'] === undefined, false);
  t.equal(created.statusCode, 200);
  t.equal(created.body, '{}', 'never an empty 200');
  t.same(calls, ['create n1']);

  const caps = await app.inject({ method: 'POST', url: '/NetworkDriver.GetCapabilities', payload: '' });
  t.same(caps.json(), { Scope: 'local', ConnectivityScope: 'local' });

  const conflict = await app.inject({
    method: 'POST',
    url: '/NetworkDriver.CreateNetwork',
    payload: '{"NetworkID":"taken"}',
  });
  t.equal(conflict.statusCode, 500);
  t.same(conflict.json(), { Err: 'vlan 100 is already used on bridge br0' });

  const bad = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: '{"Netw' });
  t.equal(bad.statusCode, 500);
  t.match(bad.json(), { Err: /not valid JSON/ });

  const missing = await app.inject({ method: 'POST', url: '/NetworkDriver.Join', payload: '{}' });
  t.equal(missing.statusCode, 500);
  t.match(missing.json(), { Err: /invalid NetworkDriver.Join request/ });

  const unknown = await app.inject({ method: 'POST', url: '/NetworkDriver.Frobnicate', payload: '{}' });
  t.equal(unknown.statusCode, 500);
  t.match(unknown.json(), { Err: /unknown plugin call POST \/NetworkDriver.Frobnicate/ });

  const ep = await app.inject({
    method: 'POST',
    url: '/NetworkDriver.CreateEndpoint',
    payload: JSON.stringify({ NetworkID: 'n1', EndpointID: 'e1', Interface: { Address: '10.0.0.2/24' } }),
  });
  t.same(ep.json(), { Interface: { MacAddress: '02:00:00:00:00:01' } });

  const info = await app.inject({
    method: 'POST',
    url: '/NetworkDriver.EndpointOperInfo',
    payload: '{"NetworkID":"n1","EndpointID":"e1"}',
  });
  t.same(info.json(), { Value: {} });

  for (const call of [
    'ProgramExternalConnectivity',
    'RevokeExternalConnectivity',
    'DiscoverNew',
    'DiscoverDelete',
  ]) {
    const r = await app.inject({
      method: 'POST',
      url: `/NetworkDriver.${call}`,
      payload: '{"NetworkID":"n1"}',
    });
    t.equal(r.body, '{}', call);
  }

  // The app keeps serving after every error above.
  const again = await app.inject({ method: 'POST', url: '/Plugin.Activate' });
  t.equal(again.statusCode, 200);

  const text = await metrics.registry.metrics();
  t.match(text, /ocn_plugin_calls_total\{call="NetworkDriver.CreateNetwork"\} 3/);
  t.match(text, /ocn_plugin_call_errors_total\{call="NetworkDriver.CreateNetwork"\} 2/);
  t.match(text, /ocn_plugin_endpoints 3/);
});

t.test('IPAM routes: identical RequestPool calls share a pool; gateway gets the first address', async (t) => {
  const app = build({ driver: fakeDriver([]), ipam: ipamApi() });
  t.teardown(() => app.close());
  const post = async (url: string, payload: unknown) => {
    const r = await app.inject({ method: 'POST', url, payload: JSON.stringify(payload) });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  const spaces = await post('/IpamDriver.GetDefaultAddressSpaces', {});
  t.same(spaces.body, { LocalDefaultAddressSpace: 'ocn-local', GlobalDefaultAddressSpace: 'ocn-global' });
  const a = await post('/IpamDriver.RequestPool', {
    AddressSpace: 'ocn-local',
    Pool: '10.5.0.0/24',
    V6: false,
  });
  const b = await post('/IpamDriver.RequestPool', {
    AddressSpace: 'ocn-local',
    Pool: '10.5.0.0/24',
    V6: false,
  });
  t.same(a, b);
  const gw = await post('/IpamDriver.RequestAddress', {
    PoolID: a.body.PoolID,
    Address: '',
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  t.same(gw.body, { Address: '10.5.0.1/24', Data: {} });
  const taken = await post('/IpamDriver.RequestAddress', { PoolID: a.body.PoolID, Address: '10.5.0.1' });
  t.equal(taken.status, 500);
  t.match(taken.body, { Err: /already in use/ });
  const rel = await post('/IpamDriver.ReleaseAddress', { PoolID: a.body.PoolID, Address: '10.5.0.1/24' });
  t.same(rel, { status: 200, body: {} });
});

t.test('without an IPAM driver Activate announces only NetworkDriver', async (t) => {
  const app = build({ driver: fakeDriver([]) });
  t.teardown(() => app.close());
  const act = await app.inject({ method: 'POST', url: '/Plugin.Activate', payload: '\n' });
  t.same(act.json(), { Implements: ['NetworkDriver'] });
  const r = await app.inject({ method: 'POST', url: '/IpamDriver.RequestPool', payload: '{}' });
  t.equal(r.statusCode, 500);
});
