// The HTTP API driven with generated bodies (issue 12, "Must show"): random JSON shapes and option maps,
// well-formed calls with random and boundary values, raw garbage (bad JSON, deep nesting, invalid UTF-8,
// empty bodies). Seeded and reproducible (OCN_FUZZ_SEED, OCN_FUZZ_CASES). For every case: the reply is 200
// with a JSON object or 500 with {"Err": string}; the process keeps serving; and OVS and the kernel change
// only through requests that succeeded — after a failed request, our slice of OVS (bridges, ports,
// interfaces, the IPAM key) and of the kernel (links, MTUs, addresses, policy rules) is as before. Real
// plugin binary (CAP_NET_ADMIN only) on the shared OVS sandbox. Needs root.
import { run, sleep, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { deleteBridges, postPlugin, settledLeftovers, startPluginProcess, vsctl } from '../helpers/plugin.js';

const SEED = Number(process.env.OCN_FUZZ_SEED ?? 12_012);
const CASES = Number(process.env.OCN_FUZZ_CASES ?? 300);

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(SEED);
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const maybe = (p = 0.5) => rnd() < p;

function randomString(): string {
  return pick([
    '',
    ' ',
    'x',
    'a/b',
    'lo',
    '../..',
    '\u0000',
    'é'.repeat(20),
    '💥',
    'x'.repeat(int(3) === 0 ? 5000 : 20),
    String(int(1e6)),
    '10.0.0.1/8',
    'true',
    '{"a":1}',
  ]);
}
function randomJson(depth = 0): unknown {
  const k = int(depth > 3 ? 4 : 7);
  if (k === 0) return null;
  if (k === 1) return maybe();
  if (k === 2) return pick([0, -1, 1.5, 4094, 65535, 1e308, Number.MAX_SAFE_INTEGER]);
  if (k === 3) return randomString();
  if (k === 4) return Array.from({ length: int(4) }, () => randomJson(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(5); i > 0; i--)
    o[pick(['Options', 'Pool', 'x', 'Interface', 'V6', randomString()])] = randomJson(depth + 1);
  return o;
}

const name = uniqueName('p');
const B1 = uniqueName('br');
const B2 = uniqueName('br');
const O2 = 20 + int(200);
const NET_IDS = Array.from(
  { length: 4 },
  (_v, i) => `${String(i).repeat(8)}${'d'.repeat(48)}${(SEED % 1e8).toString(16).padStart(8, '0')}`,
);
const EP_IDS = Array.from(
  { length: 4 },
  (_v, i) => `${String(i).repeat(8)}${'e'.repeat(48)}${(SEED % 1e8).toString(16).padStart(8, '0')}`,
);
const BAD_IDS = [5, '', 'a b', 'x'.repeat(300), null, '\uFFFD', ['x']];

function optionMap(): Record<string, unknown> {
  // Always one of our bridges (or an invalid name): a fuzzed network never lands on a shared bridge.
  const o: Record<string, unknown> = {
    bridge: pick([B1, B1, B2, 'lo', 'ovs-netdev', '', 'b'.repeat(16), 'a/b']),
  };
  const values: Record<string, readonly unknown[]> = {
    vlan: ['5', '0', '4094', '4095', 'x', 100, '1.5'],
    mtu: ['1400', '1500', '9000', '65521', '65535', '67', '1279', 'abc'],
    tenant_id: ['acme', 'a b', 'x'.repeat(70), 't:1'],
    datapath_type: ['netdev', 'system', 'dpdk'],
    uplink: ['lo', 'nosuch0', B1, ''],
    gateway_mode: ['internal', 'external', 'none', 'nat'],
    isolate: ['true', 'false', 'maybe'],
    [randomString()]: ['1'],
  };
  for (const [k, vs] of Object.entries(values)) if (maybe(0.25)) o[k] = pick(vs);
  return o;
}
function ipamData(): unknown {
  const third = int(4);
  return pick([
    [{ Pool: `10.${O2}.${third}.0/24`, Gateway: `10.${O2}.${third}.1/24` }],
    [{ Pool: `10.${O2}.${third}.0/24` }],
    [{ Pool: `10.${O2}.${third}.0/24`, Gateway: `10.${O2}.${third}.1/8` }],
    [{ Pool: `10.${O2}.${third}.0/24`, Gateway: `10.${O2 + 1}.0.1/24` }],
    [{ Pool: 'nonsense', Gateway: 'x' }],
    [],
    null,
    randomJson(2),
  ]);
}
const netId = () => (maybe(0.85) ? pick(NET_IDS) : pick(BAD_IDS));
const epId = () => (maybe(0.9) ? pick(EP_IDS) : pick(BAD_IDS));

function generate(): { call: string; body: string | Buffer } {
  const j = (o: unknown) => JSON.stringify(o);
  switch (int(12)) {
    case 0:
    case 1:
      return {
        call: 'NetworkDriver.CreateNetwork',
        body: j({
          NetworkID: netId(),
          Options: {
            'com.docker.network.generic': maybe(0.95) ? optionMap() : randomJson(1),
            ...(maybe(0.2) ? { 'com.docker.network.enable_ipv6': maybe() } : {}),
            ...(maybe(0.2) ? { 'com.docker.network.internal': maybe() } : {}),
          },
          IPv4Data: ipamData(),
          ...(maybe(0.1) ? { IPv6Data: [{ Pool: 'fd6f:1::/64', Gateway: 'fd6f:1::1/64' }] } : {}),
        }),
      };
    case 2:
      return { call: 'NetworkDriver.DeleteNetwork', body: j({ NetworkID: netId() }) };
    case 3:
    case 4:
      return {
        call: 'NetworkDriver.CreateEndpoint',
        body: j({
          NetworkID: netId(),
          EndpointID: epId(),
          Interface: maybe(0.9)
            ? {
                ...(maybe()
                  ? { Address: pick([`10.${O2}.${int(4)}.${2 + int(200)}/24`, '10.255.0.1/24', 'x']) }
                  : {}),
                ...(maybe(0.3)
                  ? { MacAddress: pick(['02:00:00:00:00:09', '01:00:5e:00:00:01', 'zz', '']) }
                  : {}),
              }
            : randomJson(1),
          Options: maybe(0.8) ? {} : randomJson(1),
        }),
      };
    case 5:
      return {
        call: 'NetworkDriver.Join',
        body: j({ NetworkID: netId(), EndpointID: epId(), SandboxKey: '/x' }),
      };
    case 6:
      return {
        call: pick(['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint', 'NetworkDriver.EndpointOperInfo']),
        body: j({ NetworkID: netId(), EndpointID: epId() }),
      };
    case 7:
      return {
        call: pick([
          'IpamDriver.RequestPool',
          'IpamDriver.ReleasePool',
          'IpamDriver.RequestAddress',
          'IpamDriver.ReleaseAddress',
        ]),
        body: j(
          pick([
            {
              AddressSpace: pick(['ocn-local', 'x', '']),
              Pool: pick([`10.${O2}.9.0/24`, 'x', '']),
              V6: maybe(0.1),
            },
            {
              PoolID: pick([`ocn-local/10.${O2}.9.0/24`, 'nope', '']),
              Address: pick(['', `10.${O2}.9.7`, 'x']),
            },
            randomJson(1),
          ]),
        ),
      };
    case 8:
      // Any call, any shape (CreateNetwork excluded: a random valid body without a bridge option would use
      // the default bridge, which is shared).
      return {
        call: pick([
          'NetworkDriver.CreateEndpoint',
          'NetworkDriver.Join',
          'NetworkDriver.DeleteNetwork',
          'NetworkDriver.GetCapabilities',
          'IpamDriver.RequestAddress',
          'Plugin.Activate',
          'NetworkDriver.ProgramExternalConnectivity',
        ]),
        body: j(randomJson()),
      };
    case 9:
      return {
        call: pick(['NetworkDriver.CreateNetwork', 'NetworkDriver.Join', 'IpamDriver.RequestPool']),
        body: pick([
          '',
          '{"NetworkID": ',
          `${'['.repeat(5000)}${']'.repeat(5000)}`,
          `{"a":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`,
          Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
          'null',
          '[]',
          '"x"',
        ]),
      };
    case 10:
      return { call: pick(['NetworkDriver.Teleport', 'Nope', 'x'.repeat(300)]), body: '{}' };
    default:
      return { call: 'NetworkDriver.DeleteEndpoint', body: j({ NetworkID: netId(), EndpointID: epId() }) };
  }
}

t.test(`${CASES} generated requests (seed ${SEED})`, async (t) => {
  const p = await startPluginProcess({ name, reconcileIntervalSeconds: 0, capabilities: ['net_admin'] });
  t.teardown(async () => {
    for (const id of NET_IDS)
      await postPlugin(p.socket, '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: id })).catch(
        () => undefined,
      );
    await p.stop();
    await run(
      'ovs-vsctl',
      [`--db=${p.ovsdb}`, '--timeout=20', 'remove', 'Open_vSwitch', '.', 'external_ids', `ocn-ipam-${name}`],
      { allowFail: true },
    );
    const left = JSON.parse(
      await vsctl(
        p.ovsdb,
        '--format=json',
        '--columns=_uuid',
        'find',
        'Queue',
        `external_ids:ocn-owner=${name}`,
      ),
    ) as { data: [[string, string]][] };
    for (const [[, u]] of left.data) await vsctl(p.ovsdb, 'destroy', 'Queue', u);
    await deleteBridges(p.ovsdb, [B1, B2]);
  });

  const ours = (n: string) => n.startsWith(p.prefix) || n === B1 || n === B2;
  /** Our slice of OVS and the kernel, as one comparable string. */
  const snapshot = async (): Promise<string> => {
    const ovs = JSON.parse(
      `[${(
        await vsctl(
          p.ovsdb,
          '--format=json',
          '--',
          '--columns=name,external_ids,ports',
          'list',
          'Bridge',
          '--',
          '--columns=name,tag,trunks,external_ids',
          'list',
          'Port',
          '--',
          '--columns=name,type,external_ids,mtu_request',
          'list',
          'Interface',
        )
      )
        .split('\n')
        .filter(Boolean)
        .join(',')}]`,
    ) as { data: unknown[][] }[];
    const rows = ovs.flatMap((tbl) =>
      tbl.data
        .filter((r) => typeof r[0] === 'string' && ours(r[0]))
        .map((r) => JSON.stringify(r.filter((_x, i) => i !== 2 || true))),
    );
    const ipam =
      (await vsctl(p.ovsdb, 'get', 'Open_vSwitch', '.', 'external_ids')).match(
        new RegExp(`ocn-ipam-${name}="(?:[^"\\\\]|\\\\.)*"`),
      )?.[0] ?? '';
    // The IPAM driver's addresses: one Queue row each (core/ipam-state.ts).
    const leases = await vsctl(
      p.ovsdb,
      '--format=json',
      '--columns=_uuid,external_ids',
      'find',
      'Queue',
      `external_ids:ocn-owner=${name}`,
    );
    const links = (
      JSON.parse((await run('ip', ['-j', 'addr', 'show'])).stdout) as {
        ifname: string;
        mtu: number;
        addr_info?: { local: string; prefixlen: number }[];
      }[]
    )
      .filter((l) => ours(l.ifname))
      .map(
        (l) =>
          `${l.ifname} ${l.mtu} ${(l.addr_info ?? [])
            .map((a) => `${a.local}/${a.prefixlen}`)
            .sort()
            .join(',')}`,
      );
    const rules = [
      ...(await run('ip', ['rule', 'show'])).stdout.split('\n'),
      ...(await run('ip', ['-6', 'rule', 'show'])).stdout.split('\n'),
    ].filter((l) => l.includes(`iif ${p.prefix}`));
    const leaseRows = (JSON.parse(leases) as { data: unknown[] }).data.map((r) => JSON.stringify(r)).sort();
    return JSON.stringify({ rows: rows.sort(), ipam, leaseRows, links: links.sort(), rules: rules.sort() });
  };
  const settle = async (): Promise<string> => {
    let prev = await snapshot();
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      const next = await snapshot();
      if (next === prev) return next;
      prev = next;
    }
    return prev;
  };

  let state = await settle();
  const counts = { ok: 0, err: 0 };
  const problems: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const { call, body } = generate();
    const what = `case ${i} ${call} ${String(body).slice(0, 160)}`;
    let reply: { status: number; body: string };
    try {
      reply = await postPlugin(p.socket, `/${call}`, body);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
      break;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.body);
    } catch {
      parsed = undefined;
    }
    if (reply.status === 200 && parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      counts.ok++;
      state = await settle();
    } else if (reply.status === 500 && typeof (parsed as { Err?: unknown })?.Err === 'string') {
      counts.err++;
      let now = await snapshot();
      // A failed request may roll back something asynchronous (vswitchd removes a tap after its port):
      // give it the time to settle, then it must be exactly as before.
      for (let k = 0; k < 20 && now !== state; k++) {
        await sleep(100);
        now = await snapshot();
      }
      if (now !== state) {
        problems.push(
          `${what}: failed (${(parsed as { Err: string }).Err.slice(0, 200)}) but changed OVS/kernel:\nbefore ${state}\nafter  ${now}`,
        );
        state = now;
      }
    } else {
      problems.push(`${what}: reply ${reply.status} ${reply.body.slice(0, 200)}`);
    }
    if (p.child.exitCode !== null) {
      problems.push(`${what}: the plugin exited ${p.child.exitCode}`);
      break;
    }
  }
  t.comment(
    `${counts.ok + counts.err} cases ran (seed ${SEED}): ${counts.ok} answered 200, ${counts.err} answered 500 with Err`,
  );
  t.same(problems, [], 'every reply 200 or 500 {Err}, no change from failed requests, the plugin alive');
  t.ok(counts.ok > 10 && counts.err > 10, 'both outcomes were exercised');
  const alive = await postPlugin(p.socket, '/Plugin.Activate', '');
  t.equal(alive.status, 200, 'the plugin keeps serving');
  for (const id of NET_IDS)
    await postPlugin(p.socket, '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: id }));
  t.same(await settledLeftovers(p), [], 'its networks deleted, nothing of it is left');
});
