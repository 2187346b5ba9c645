// DHCP IPAM mode's decisions without sockets: PoolIDs, what CreateNetwork takes from a DHCP pool, and
// records read back from OVS being validated (a forged or broken record is refused or skipped, not used).
import t from 'tap';
import { DhcpIpam, parseDhcpPoolId } from '../../src/core/dhcp-ipam.js';
import type { KernelHandle } from '../../src/core/kernel.js';
import { type NetworkOptions, parseNetworkOptions } from '../../src/core/options.js';

function ipam(root: Record<string, string>): DhcpIpam {
  const none = () => undefined;
  return new DhcpIpam({
    owner: 'ocntest',
    prefix: 'ocnt',
    ovs: {
      rootExternalIds: () => root,
      bridgeByName: none,
      portByName: none,
      ifaceByName: none,
      ports: () => [],
      transact: async () => undefined,
    },
    kernel: {} as KernelHandle,
    openKernel: () => ({}) as KernelHandle,
  });
}

const pool = (vlan: number, bridge = 'br-lan', subnet = '192.168.7.0/24') =>
  JSON.stringify({ v: 1, bridge, vlan, pool: subnet, gateway: '192.168.7.1', timeoutMs: 6000, refs: 1 });
const opts = (generic: Record<string, string> = {}): NetworkOptions =>
  parseNetworkOptions(generic, { datapathType: 'netdev', internal: false, ipv6: false, gateway: true });

t.test('PoolIDs', async (t) => {
  t.same(parseDhcpPoolId('ocn-dhcp/br-lan/100'), { bridge: 'br-lan', vlan: 100 });
  t.equal(
    parseDhcpPoolId('ocn-local/10.0.0.0/24'),
    undefined,
    "the static driver's pools are not DHCP pools",
  );
  t.throws(() => parseDhcpPoolId('ocn-dhcp/br-lan'), /malformed DHCP PoolID "ocn-dhcp\/br-lan"/);
});

t.test('CreateNetwork on a DHCP pool takes its bridge and VLAN, and gateway_mode external', async (t) => {
  const d = ipam({ 'ocn-dhcp-pool-ocntest/br-lan/100': pool(100) });
  const got = d.networkOptions('192.168.7.0/24', 'ocn-local', {}, opts());
  t.match(got, { bridge: 'br-lan', vlan: 100, gatewayMode: 'external' });
  t.match(
    d.networkOptions('192.168.7.0/24', 'ocn-local', { gateway_mode: 'none' }, opts({ gateway_mode: 'none' })),
    {
      gatewayMode: 'none',
    },
  );
  t.same(d.networkOptions('10.1.0.0/24', 'ocn-local', {}, opts()), opts(), 'another subnet: unchanged');
  t.same(
    d.networkOptions('192.168.7.0/24', 'LocalDefault', {}, opts()),
    opts(),
    "Docker's default IPAM on the same subnet: not a DHCP network",
  );
  t.throws(
    () =>
      d.networkOptions(
        '192.168.7.0/24',
        'ocn-local',
        { gateway_mode: 'internal' },
        opts({ gateway_mode: 'internal' }),
      ),
    /invalid option gateway_mode="internal"/,
  );
  t.throws(
    () => d.networkOptions('192.168.7.0/24', 'ocn-local', { vlan: '200' }, opts({ vlan: '200' })),
    /invalid option vlan=200: expected the DHCP pool's \(--ipam-opt\): bridge br-lan VLAN 100/,
  );
});

t.test('one subnet on two LANs: the network must say which', async (t) => {
  const d = ipam({
    'ocn-dhcp-pool-ocntest/br-lan/100': pool(100),
    'ocn-dhcp-pool-ocntest/br-lan/200': pool(200),
  });
  t.throws(() => d.networkOptions('192.168.7.0/24', 'ocn-local', {}, opts()), /say which with -o vlan=/);
  t.match(d.networkOptions('192.168.7.0/24', 'ocn-local', { vlan: '200' }, opts({ vlan: '200' })), {
    vlan: 200,
  });
});

t.test('records read back from OVS are validated', async (t) => {
  const d = ipam({
    'ocn-dhcp-pool-ocntest/br-lan/100': pool(100),
    'ocn-dhcp-pool-ocntest/br-lan/101': pool(102), // its key and content disagree
    'ocn-dhcp-pool-ocntest/br-lan/103': '{"v":1,"bridge":"br-lan","vlan":103,"pool":"192.168.7.5/24"}',
    'ocn-dhcp-pool-ocntest/br-lan/104': 'not json',
    'ocn-dhcp-pool-other/br-lan/105': pool(105), // another owner's
    'ocn-dhcp-lease-ocntest/br-lan/100/192.168.7.20': '{"v":1,"lease":{"mac":"zz"},"created":1}',
  });
  t.same(
    d.pools().map((p) => p.vlan),
    [100],
    'only the valid record of this owner whose key matches',
  );
  t.same([...d.leases().keys()], [], 'a lease record that does not validate is skipped');
  t.equal(d.start(), 0, 'and never renewed');
  await d.close();
});
