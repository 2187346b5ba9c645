// OVN mode, tenants and routing across two simulated hosts (needs root and OVN: namespaces, ovsdb-server,
// ovs-vswitchd, ovn-northd, ovn-controller; testkit startOvnEnv). The plugin binary runs in each chassis'
// namespace. Shows: two isolate=false networks of one tenant are routed through the tenant's router; an
// isolate=true network of the same tenant is not (but reaches its gateway); another tenant reaches neither
// at L2 nor L3, also with the two tenants' routers joined by hand, and the tenant port groups carry the
// drop ACLs (see the note at the end: the joined path lacks a positive control).
import { canPing, nsExec, type OvnEnv, startOvnEnv } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  attach,
  createNetwork,
  dockerId,
  type OvnPlugin,
  startOvnPlugin,
  waitChassisReady,
} from '../helpers/ovn.js';

const env: OvnEnv = await startOvnEnv({ chassis: 2 });
t.teardown(() => env.stop());
await waitChassisReady(env);
const [chA, chB] = env.chassis;
if (!chA || !chB) throw new Error('two chassis expected');
const a: OvnPlugin = await startOvnPlugin(env, chA);
t.teardown(() => a.stop());
const b: OvnPlugin = await startOvnPlugin(env, chB, { name: a.name });
t.teardown(() => b.stop());

const tag = dockerId().slice(0, 6);
const TA = `ta${tag}`;
const TB = `tb${tag}`;

async function net(p: OvnPlugin, sw: string, subnet: string, tenant: string, isolate: boolean) {
  const n = await createNetwork(p, { logicalSwitch: `ocnt-${tag}-${sw}`, subnet, tenant, isolate });
  if (n.reply.status !== 200) throw new Error(JSON.stringify(n.reply.body));
  return n;
}

t.test('tenants, routed and isolated networks', async (t) => {
  // Tenant A: net1 on host A, net2 on host B (both isolate=false), net3 isolated on host B.
  const n1 = await net(a, 'n1', '10.71.0.0/24', TA, false);
  const n2 = await net(b, 'n2', '10.72.0.0/24', TA, false);
  const n3 = await net(b, 'n3', '10.73.0.0/24', TA, true);
  // Tenant B: net4 on both hosts, with the same subnet as nothing of tenant A.
  const n4a = await net(a, 'n4', '10.74.0.0/24', TB, false);
  const n4b = await net(b, 'n4', '10.74.0.0/24', TB, false);
  const e1 = await attach(a, n1);
  const e2 = await attach(b, n2);
  const e3 = await attach(b, n3);
  const e4 = await attach(a, n4a);
  const e4b = await attach(b, n4b);
  const ping = (from: { netns: string }, ip: string | undefined) => canPing(from.netns, ip as string, 2);

  t.ok(await ping(e1, e2.ip), 'tenant A: net1 (host A) → net2 (host B), routed');
  t.ok(await ping(e2, e1.ip), 'and back');
  t.ok(await ping(e3, '10.73.0.1'), 'the isolated network reaches its own gateway');
  t.notOk(await ping(e1, e3.ip), 'net1 → isolated net3: not routed');
  t.notOk(await ping(e3, e2.ip), 'isolated net3 → net2: not routed');
  t.ok(await ping(e4, e4b.ip), 'tenant B: its own network across hosts');
  t.notOk(await ping(e4, e1.ip), 'tenant B → tenant A at L3: no');
  t.notOk(await ping(e1, e4.ip), 'tenant A → tenant B at L3: no');
  // L2: an ARP for tenant A's address from tenant B's namespace gets no answer.
  // busybox arping (iputils' is not installed); first a positive control on tenant B's own switch.
  const arping = (from: { netns: string }, ip: string | undefined) =>
    nsExec(from.netns, 'busybox', ['arping', '-c', '2', '-w', '2', '-I', 'eth0', ip as string], true);
  t.equal((await arping(e4, e4b.ip)).code, 0, "ARP works on tenant B's switch (control)");
  t.not((await arping(e4, e1.ip)).code, 0, 'tenant B → tenant A at L2: no ARP reply');

  const pgA = JSON.parse(
    await env.nbctl('--format=json', '--columns=ports', 'list', 'Port_Group', `ocn_${TA}`),
  );
  t.equal(
    JSON.stringify(pgA.data[0][0]).match(/uuid/g)?.length,
    3,
    "tenant A's port group holds its 3 endpoints",
  );

  t.test('connecting the two routers by hand does not open the way: the ACLs drop it', async (t) => {
    const lrA = `ocn-${TA}`;
    const lrB = `ocn-${TB}`;
    await env.nbctl(
      'lrp-add',
      lrA,
      `ocnt-${tag}-xa`,
      '0a:00:00:ff:00:01',
      '169.254.77.1/30',
      `peer=ocnt-${tag}-xb`,
    );
    await env.nbctl(
      'lrp-add',
      lrB,
      `ocnt-${tag}-xb`,
      '0a:00:00:ff:00:02',
      '169.254.77.2/30',
      `peer=ocnt-${tag}-xa`,
    );
    await env.nbctl('lr-route-add', lrA, '10.74.0.0/24', '169.254.77.2');
    await env.nbctl('lr-route-add', lrB, '10.71.0.0/24', '169.254.77.1');
    await env.nbctl('--wait=hv', 'sync');
    t.notOk(await ping(e4, e1.ip), 'tenant B → tenant A over the joined routers: dropped');
    t.notOk(await ping(e1, e4.ip), 'tenant A → tenant B over the joined routers: dropped');
    const acls = await env.nbctl('acl-list', `ocn_${TA}`);
    t.match(acls, /outport == @ocn_\w+ && ip\) drop/, acls);
    t.match(acls, /outport == @ocn_\w+ && ip4 && ip4.src == \$ocn_\w+_subnets4\) allow/, acls);
    // No positive control yet: with both tenants' ACLs deleted the hand-joined routers did not carry the
    // ping either (not understood), so this shows the ACLs are in place, not that they alone decide.
  });

  for (const e of [e1, e2, e3, e4, e4b]) await e.remove();
  void n3;
});
