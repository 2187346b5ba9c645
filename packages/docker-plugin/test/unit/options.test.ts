import t from 'tap';
import { InvalidOptionError } from '../../src/core/errors.js';
import { type ParseContext, parseNetworkOptions } from '../../src/core/options.js';

const ctx: ParseContext = { datapathType: 'netdev', internal: false, ipv6: false };

t.test('defaults', async (t) => {
  t.same(parseNetworkOptions(undefined, ctx), {
    bridge: 'ocn-br0',
    vlan: undefined,
    tenantId: undefined,
    mtu: 1500,
    datapathType: 'netdev',
    uplink: undefined,
    gatewayMode: 'internal',
    isolate: true,
    masquerade: true,
    qos: {},
    mirrorTo: undefined,
  });
  t.equal(
    parseNetworkOptions({}, { ...ctx, internal: true }).gatewayMode,
    'none',
    '--internal means no gateway',
  );
});

t.test('every option, as strings (docker -o) and as numbers (compose driver_opts)', async (t) => {
  const o = parseNetworkOptions(
    {
      bridge: 'br-a',
      vlan: '100',
      tenant_id: 'acme',
      mtu: 1400,
      datapath_type: 'system',
      uplink: 'eth9',
      gateway_mode: 'external',
      isolate: 'false',
    },
    ctx,
  );
  t.same(o, {
    bridge: 'br-a',
    vlan: 100,
    tenantId: 'acme',
    mtu: 1400,
    datapathType: 'system',
    uplink: 'eth9',
    gatewayMode: 'external',
    isolate: false,
    masquerade: true,
    qos: {},
    mirrorTo: undefined,
  });
  t.equal(parseNetworkOptions({ 'com.docker.network.driver.mtu': '9000' }, ctx).mtu, 9000);
});

const bad: Array<[Record<string, unknown>, RegExp, Partial<ParseContext>?]> = [
  [{ vlan: '5000' }, /vlan="5000": expected a VLAN id: an integer from 1 to 4094/],
  [{ vlan: '0' }, /vlan="0"/],
  [{ vlan: 'abc' }, /vlan="abc": expected a VLAN id/],
  [{ vlan: '1.5' }, /vlan="1.5"/],
  [{ mtu: '10' }, /mtu="10": expected an MTU: an integer from 68 to 65535/],
  [
    { mtu: '1200' },
    /mtu="1200": expected an MTU: an integer from 1280 to 65535 \(at least 1280 on IPv6/,
    { ipv6: true },
  ],
  // Regression (mtu=65535 was documented as valid and failed in setLink with EINVAL naming no option): with
  // a gateway port (an OVS internal port) the kernel's limit is 65521.
  [
    { mtu: '65535' },
    /mtu="65535": expected an MTU: an integer from 68 to 65521 \(at most 65521 with a gateway port/,
    { gateway: true },
  ],
  [{ mtu: '65536' }, /mtu="65536": expected an MTU: an integer from 68 to 65535/],
  // Regression: bridge=lo, bridge=ovs-netdev and uplink=lo were accepted.
  [{ bridge: 'lo' }, /bridge="lo": expected an interface name .*other than lo, ovs-system, ovs-netdev/],
  [{ bridge: 'ovs-netdev' }, /bridge="ovs-netdev": expected .*other than lo/],
  [{ uplink: 'lo' }, /uplink="lo": expected .*other than lo/],
  // Regression: a 10 KB value was echoed back in full.
  [{ tenant_id: 'x'.repeat(10_000) }, /tenant_id="x{79}… \(9922 more characters\): expected 1 to 64/],
  [{ colour: 'red' }, /colour="red": expected a known option; this driver accepts bridge, vlan/],
  [{ bridge: 'b'.repeat(40) }, /bridge="b{40}": expected an interface name of 1 to 15 bytes/],
  [{ bridge: 'a/b' }, /bridge="a\/b"/],
  [{ uplink: '' }, /uplink="": expected an interface name/],
  [{ gateway_mode: 'nat' }, /gateway_mode="nat": expected "internal", "external" or "none"/],
  [
    { gateway_mode: 'internal' },
    /gateway_mode="internal": expected "none" on an --internal network/,
    { internal: true },
  ],
  [{ datapath_type: 'dpdk' }, /datapath_type="dpdk": expected "system"/],
  [{ tenant_id: 'a b' }, /tenant_id="a b": expected 1 to 64 characters/],
  [{ isolate: 'maybe' }, /isolate="maybe": expected true or false/],
];

t.test('bad values are refused with the option, the value and what is allowed', async (t) => {
  for (const [opts, msg, extra] of bad) {
    t.throws(() => parseNetworkOptions(opts, { ...ctx, ...extra }), msg, JSON.stringify(opts));
    try {
      parseNetworkOptions(opts, { ...ctx, ...extra });
    } catch (err) {
      t.ok(err instanceof InvalidOptionError && err.code === 'PLUGIN_ERR_INVALID_OPTION');
    }
  }
  t.throws(() => parseNetworkOptions('vlan=5', ctx), /com.docker.network.generic/);
});
