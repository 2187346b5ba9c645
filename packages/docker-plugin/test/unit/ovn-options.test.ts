// OVN mode's pure rules: the --ovn-* flags, the network options, names and address arithmetic.
import t from 'tap';
import { InvalidOptionError } from '../../src/core/errors.js';
import { parseOvnFlags, parseSbRemotes } from '../../src/core/ovn/config.js';
import {
  formatIp,
  gatewayAcls,
  gatewayPolicies,
  holdName,
  hostRange,
  isOvnMode,
  isolationPolicies,
  joinIp,
  parseOvnNetworkOptions,
  routerMac,
  subnetOf,
  tenantAcls,
} from '../../src/core/ovn/model.js';

const none = {
  nb: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  checkHostname: false,
  bridge: undefined,
  underlayMtu: undefined,
  installTimeout: undefined,
};

t.test('--ovn-sb: remotes, off, or unset (the chassis ovn-remote); bad values named', async (t) => {
  t.equal(parseOvnFlags({ ...none, nb: 'tcp:h:1' }, 10_000)?.sb, undefined, 'unset: from the chassis');
  t.equal(parseOvnFlags({ ...none, nb: 'tcp:h:1', sb: 'off' }, 10_000)?.sb, 'off');
  t.same(parseOvnFlags({ ...none, nb: 'tcp:h:1', sb: 'tcp:10.0.0.1:6642, unix:/run/sb.sock' }, 10_000)?.sb, [
    'tcp:10.0.0.1:6642',
    'unix:/run/sb.sock',
  ]);
  t.throws(() => parseOvnFlags({ ...none, sb: 'tcp:h:6642' }, 10_000), /only together with --ovn-nb/);
  t.throws(
    () => parseOvnFlags({ ...none, nb: 'tcp:h:1', sb: 'tcp:h:6642,h:6642' }, 10_000),
    /--ovn-sb="h:6642".*unix:\/PATH, tcp:HOST:PORT or ssl:HOST:PORT, comma-separated, or 'off'/,
  );
  t.throws(
    () => parseOvnFlags({ ...none, nb: 'tcp:h:1', sb: 'ssl:h:6642' }, 10_000),
    /--ovn-sb="ssl:h:6642".*ssl: SB remotes need an ssl: --ovn-nb with --ovn-ca/,
  );
  // What a chassis holds in external_ids:ovn-remote is read back from OVS and checked the same way.
  t.same(parseSbRemotes('ovn-remote', 'tcp:172.16.0.1:6642,tcp:172.16.0.2:6642', false), [
    'tcp:172.16.0.1:6642',
    'tcp:172.16.0.2:6642',
  ]);
  t.same(parseSbRemotes('ovn-remote', 'ssl:h:6642', true), ['ssl:h:6642']);
  t.throws(() => parseSbRemotes('ovn-remote', '', false), /ovn-remote="".*unix:\/PATH/);
  t.throws(() => parseSbRemotes('ovn-remote', 'ptcp:6642', false), /ovn-remote="ptcp:6642"/);
});

t.test('flags: off without --ovn-nb; remotes as --ovsdb takes them; bad values named', async (t) => {
  t.equal(parseOvnFlags(none, 10_000), undefined);
  t.throws(() => parseOvnFlags({ ...none, bridge: 'br-x' }, 10_000), /only together with --ovn-nb/);
  const c = parseOvnFlags({ ...none, nb: 'tcp:10.0.0.1:6641,tcp:10.0.0.2:6641, unix:/run/nb.sock' }, 10_000);
  t.same(c?.nb, ['tcp:10.0.0.1:6641', 'tcp:10.0.0.2:6641', 'unix:/run/nb.sock']);
  t.equal(c?.bridge, 'br-int');
  t.equal(c?.installTimeoutMs, 8000);
  t.equal(c?.remoteWaitMs, 3000, 'the wait for the other chassis is on by default');
  t.equal(parseOvnFlags({ ...none, nb: 'tcp:h:1', remoteWait: '0' }, 10_000)?.remoteWaitMs, 0, '0: off');
  t.equal(parseOvnFlags({ ...none, nb: 'tcp:h:1', remoteWait: '1.5' }, 10_000)?.remoteWaitMs, 1500);
  t.equal(
    parseOvnFlags({ ...none, nb: 'tcp:h:1', installTimeout: '2' }, 10_000)?.remoteWaitMs,
    2000,
    'never beyond the install timeout',
  );
  for (const bad of ['-1', 'x', '9'])
    t.throws(
      () => parseOvnFlags({ ...none, nb: 'tcp:h:1', remoteWait: bad }, 10_000),
      new RegExp(`--ovn-remote-wait="${bad}".*from 0 \\(off\\) to --ovn-install-timeout \\(8\\)`),
      `--ovn-remote-wait ${bad} refused`,
    );
  t.throws(() => parseOvnFlags({ ...none, remoteWait: '1' }, 10_000), /only together with --ovn-nb/);
  t.throws(() => parseOvnFlags({ ...none, nb: 'http://x' }, 10_000), /--ovn-nb="http:\/\/x".*unix:\/PATH/);
  t.throws(
    () => parseOvnFlags({ ...none, nb: 'ssl:h:6641' }, 10_000),
    /--ovn-ca.*needs --ovn-ca, --ovn-cert and --ovn-key/,
  );
  t.throws(
    () => parseOvnFlags({ ...none, nb: 'tcp:h:6641', ca: '/x' }, 10_000),
    /an ssl:HOST:PORT --ovn-nb remote/,
  );
  t.throws(() => parseOvnFlags({ ...none, nb: 'tcp:h:1', underlayMtu: '900' }, 10_000), /1280 to 65535/);
  t.throws(
    () => parseOvnFlags({ ...none, nb: 'tcp:h:1', installTimeout: '10' }, 10_000),
    /below --call-timeout/,
  );
  t.equal(
    parseOvnFlags({ ...none, nb: 'tcp:h:1' }, 5000)?.installTimeoutMs,
    4000,
    'kept below a short call timeout',
  );
});

t.test('network options', async (t) => {
  t.ok(isOvnMode({ 'com.docker.network.generic': { mode: 'ovn' } }));
  t.notOk(isOvnMode({ 'com.docker.network.generic': { bridge: 'br0' } }));
  t.notOk(isOvnMode(null));
  t.same(parseOvnNetworkOptions({ mode: 'ovn', logical_switch: 'web' }), {
    logicalSwitch: 'web',
    tenant: 'default',
    isolate: true,
    mtu: undefined,
    qos: {},
    masquerade: true,
  });
  t.same(
    parseOvnNetworkOptions({
      mode: 'ovn',
      logical_switch: 'w',
      tenant_id: 'acme',
      isolate: 'false',
      mtu: 1400,
      masquerade: 'false',
    }),
    {
      logicalSwitch: 'w',
      tenant: 'acme',
      isolate: false,
      mtu: 1400,
      qos: {},
      masquerade: false,
    },
  );
  t.throws(
    () => parseOvnNetworkOptions({ mode: 'ovn' }),
    /logical_switch.*Docker does not send the network name/,
  );
  t.throws(() => parseOvnNetworkOptions({ mode: 'ovn', logical_switch: 'a b' }), InvalidOptionError);
  t.throws(
    () => parseOvnNetworkOptions({ mode: 'ovn', logical_switch: 'w', vlan: '5' }),
    /vlan.*mode=ovn accepts/,
  );
  t.throws(() => parseOvnNetworkOptions({ mode: 'ovn', logical_switch: 'w', tenant_id: 'a-b' }), /tenant_id/);
  t.throws(
    () => parseOvnNetworkOptions({ mode: 'ovn', logical_switch: 'w', isolate: 'maybe' }),
    /true or false/,
  );
});

t.test('names and addresses', async (t) => {
  t.equal(holdName('web', '10.0.0.5'), 'ocn/web/10.0.0.5');
  t.equal(routerMac('web'), routerMac('web'), 'the same on every host');
  t.match(routerMac('web'), /^0a(:[0-9a-f]{2}){5}$/);
  t.equal(subnetOf('f', '10.1.2.3/24').cidr, '10.1.2.0/24', 'host bits cleared');
  t.equal(subnetOf('f', 'FD00:0::1/64').cidr, 'fd00::/64');
  t.throws(() => subnetOf('--subnet', '10.0.0.0/31'), /prefix length from 8 to 30/);
  t.throws(() => subnetOf('--subnet', 'x'), /--subnet/);
  const r = hostRange(subnetOf('f', '10.0.0.0/30'));
  t.same([formatIp(4, r.first), formatIp(4, r.last)], ['10.0.0.1', '10.0.0.2'], 'no network or broadcast');
  t.equal(formatIp(6, hostRange(subnetOf('f', 'fd00:1::/64')).first), 'fd00:1::1');
  t.same(
    isolationPolicies(subnetOf('f', '10.9.0.0/24'), 'a').map((p) => p.match),
    [
      'ip4.src == 10.9.0.0/24 && ip4.dst == 10.9.0.0/24',
      'ip4.src == 10.9.0.0/24',
      'ip4.dst == 10.9.0.0/24',
      'ip4.src == 10.9.0.0/24 && ip4.dst == 10.9.0.0/24',
      'ip4.src == 10.9.0.0/24 && ip4.dst == $ocn_a_subnets4',
      'ip4.dst == 10.9.0.0/24 && ip4.src == $ocn_a_subnets4',
    ],
  );
  t.equal(joinIp('10.99.0.2'), '100.99.0.2', 'join address: 100.64/10 + the low 22 bits of the underlay');
  t.throws(() => joinIp('10.64.0.1'), /ovn-encap-ip/, "the tenant router's join address is refused");
  t.throws(() => joinIp('fd00::1'), /IPv4 underlay/);
  for (const m of [
    ...isolationPolicies(subnetOf('f', 'fd00::/64'), 'a'),
    ...tenantAcls('a'),
    ...gatewayPolicies('a'),
    ...gatewayAcls('a'),
  ].map((p) => p.match))
    t.notMatch(m, /!=|!\(/, `no negation (OVN expands it bit by bit): ${m}`);
});
