// nf_tables through our codec, against the real kernel and `nft` (Debian nftables), as root, each test in
// fresh namespaces of its own (never the root namespace's ruleset): what we write lists in `nft -j` exactly
// like what `nft -f` writes for the same rules; what `nft -f` writes decodes into the expected values; a
// DNAT rule forwards TCP between namespaces and masquerade rewrites the source; a failing batch changes
// nothing and names the message that failed.
import { nsExec, sleep } from '@ovs-container-network/testkit';
import t from 'tap';
import { openHandle, parseCidr } from '../../src/index.js';
import {
  forwardAcceptRule,
  intervals,
  masqueradeRule,
  match,
  NFT_TYPE,
  NftBatch,
  NftBatchError,
  NftFirewall,
  openNftHandle,
  publishedPortRules,
  stmt,
} from '../../src/nftables.js';
import { netnsFixture } from '../helpers/fixtures.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

function nftFixture(t: Teardown, ns: string) {
  const h = openNftHandle({ name: ns });
  t.teardown(() => h.close());
  return h;
}

/** `nft -j list ruleset` in a namespace, without the handles (they depend on history, not content). */
async function nftJson(ns: string): Promise<unknown[]> {
  const { stdout } = await nsExec(ns, 'nft', ['-j', 'list', 'ruleset']);
  const items = (JSON.parse(stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  return items
    .filter((i) => !('metainfo' in i))
    .map((i) => {
      const [kind, v] = Object.entries(i)[0] as [string, Record<string, unknown>];
      const { handle: _h, ...rest } = v;
      return { [kind]: rest };
    });
}

async function nftF(ns: string, text: string): Promise<void> {
  await nsExec(ns, 'sh', ['-c', `nft -f - <<'EOF'\n${text}\nEOF`]);
}

const BASE_CHAINS = `
add table inet ocn-t
add chain inet ocn-t prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain inet ocn-t output { type nat hook output priority -100; policy accept; }
add chain inet ocn-t postrouting { type nat hook postrouting priority srcnat; policy accept; }
add chain inet ocn-t forward { type filter hook forward priority filter; policy accept; }`;

t.test(
  'what the firewall writes lists in `nft -j` exactly as the same rules written by `nft -f`',
  async (t) => {
    const ours = netnsFixture(t, 'nfa');
    const theirs = netnsFixture(t, 'nfb');
    const fw = new NftFirewall(nftFixture(t, ours), { table: 'ocn-t' });
    await fw.ensure();
    await fw.ensure(); // idempotent
    const refs = await fw.add([
      ...publishedPortRules({
        proto: 'tcp',
        hostIp: '192.0.2.1',
        hostPort: 8080,
        containerIp: '10.0.0.2',
        containerPort: 80,
        comment: 'c1',
      }),
      ...publishedPortRules({
        proto: 'udp',
        family: 6,
        hostPort: [5000, 5009],
        containerIp: 'fd00::2',
        containerPort: 53,
      }),
      masqueradeRule({ source: '10.0.0.0/24', notOutInterfaces: ['br-x'] }),
      forwardAcceptRule({ ctState: ['established', 'related'] }),
      forwardAcceptRule({ iifname: 'br-x', notOifname: 'br-x', comment: 'out' }),
      masqueradeRule({ source: 'fd00::/64', notOutInterfaces: ['br-x', 'br-y'] }),
      forwardAcceptRule({ saddr: '10.9.0.0/16', daddr: '10.0.0.2', proto: 'udp', dport: [53, 54] }),
    ]);
    t.equal(refs.length, 13);
    t.ok(
      refs.every((r) => Number.isInteger(r.handle) && r.handle > 0),
      'every rule got its handle back (NLM_F_ECHO)',
    );
    t.equal(new Set(refs.map((r) => r.handle)).size, refs.length, 'handles are distinct');

    await nftF(
      theirs,
      `${BASE_CHAINS}
add rule inet ocn-t prerouting meta nfproto ipv4 ip daddr 192.0.2.1 tcp dport 8080 counter dnat ip to 10.0.0.2:80 comment "c1"
add rule inet ocn-t output meta nfproto ipv4 ip daddr 192.0.2.1 tcp dport 8080 counter dnat ip to 10.0.0.2:80 comment "c1"
add rule inet ocn-t postrouting meta nfproto ipv4 ip saddr 10.0.0.2 ip daddr 10.0.0.2 tcp dport 80 masquerade comment "c1"
add rule inet ocn-t forward ct status dnat meta nfproto ipv4 ip daddr 10.0.0.2 tcp dport 80 accept comment "c1"
add rule inet ocn-t prerouting meta nfproto ipv6 fib daddr type local udp dport 5000-5009 counter dnat ip6 to [fd00::2]:53
add rule inet ocn-t output meta nfproto ipv6 fib daddr type local udp dport 5000-5009 counter dnat ip6 to [fd00::2]:53
add rule inet ocn-t postrouting meta nfproto ipv6 ip6 saddr fd00::2 ip6 daddr fd00::2 udp dport 53 masquerade
add rule inet ocn-t forward ct status dnat meta nfproto ipv6 ip6 daddr fd00::2 udp dport 53 accept
add rule inet ocn-t postrouting meta nfproto ipv4 ip saddr 10.0.0.0/24 oifname != "br-x" masquerade
add rule inet ocn-t forward ct state established,related accept
add rule inet ocn-t forward iifname "br-x" oifname != "br-x" accept comment "out"
add rule inet ocn-t postrouting meta nfproto ipv6 ip6 saddr fd00::/64 oifname != "br-x" oifname != "br-y" masquerade
add rule inet ocn-t forward meta nfproto ipv4 ip saddr 10.9.0.0/16 ip daddr 10.0.0.2 udp dport 53-54 accept`,
    );
    t.same(await nftJson(ours), await nftJson(theirs));

    // Delete by handle: the output DNAT of the first port goes, the rest stays.
    const out = refs[1];
    if (out === undefined) throw new Error('no ref');
    await fw.delete([out]);
    const listed = await fw.list();
    t.equal(listed.length, 12);
    t.notOk(
      listed.some((r) => r.handle === out.handle),
      'deleted by handle',
    );
    t.same(
      listed.filter((r) => r.comment === 'c1').map((r) => r.chain),
      ['prerouting', 'postrouting', 'forward'],
      'comments come back from the kernel',
    );
    await nsExec(theirs, 'sh', [
      '-c',
      'nft -a list chain inet ocn-t output | awk \'/comment "c1"/ {print $NF}\' | xargs -I{} nft delete rule inet ocn-t output handle {}',
    ]);
    t.same(await nftJson(ours), await nftJson(theirs), 'same after deleting the same rule');

    await fw.destroy();
    t.same(await nftJson(ours), [], 'the whole table is gone');
    await fw.destroy(); // a missing table is fine
    t.same(await fw.list(), []);
  },
);

t.test(
  'a ruleset written by `nft -f` decodes into typed tables, chains, rules, sets and elements',
  async (t) => {
    const ns = netnsFixture(t, 'nfd');
    const h = nftFixture(t, ns);
    await nftF(
      ns,
      `table ip filt {
  set nets { type ipv4_addr; flags interval; elements = { 10.1.0.0/16, 192.0.2.1 } }
  map ports { type inet_service : ipv4_addr; elements = { 80 : 10.0.0.2, 443 : 10.0.0.3 } }
  chain input { type filter hook input priority 10; policy drop;
    ip saddr @nets counter accept
    tcp dport 22 ct state new drop comment "no ssh"
  }
  chain other { }
}`,
    );
    const rs = await h.listRuleset();
    // NFTA_TABLE_USE counts what holds a reference to the table: 2 chains and 2 sets.
    t.same(
      rs.tables.map((x) => [x.family, x.name, x.use]),
      [['ip', 'filt', 4]],
    );
    const input = rs.chains.find((c) => c.name === 'input');
    t.same(input?.base, { type: 'filter', hook: 'input', priority: 10, policy: 'drop', device: undefined });
    t.equal(rs.chains.find((c) => c.name === 'other')?.base, undefined, 'a regular chain has no hook');
    const [r1, r2] = rs.rules;
    t.same(r1?.expressions, [
      { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
      { type: 'lookup', set: 'nets', setId: undefined, sreg: 1, dreg: undefined, invert: false },
      { type: 'counter', bytes: 0n, packets: 0n },
      { type: 'immediate', verdict: { kind: 'accept' } },
    ]);
    t.equal(r2?.comment, 'no ssh');
    const expected = [
      ...match.l4proto('tcp'),
      ...match.port('dport', 22),
      ...match.ctState(['new']),
      stmt.drop(),
    ];
    t.same(
      r2?.expressions.map((e) => e.type),
      expected.map((e) => e.type),
    );
    t.ok(r1?.handle !== undefined && r1.position === undefined, 'the first rule has no position');
    t.equal(
      r2?.position,
      r1?.handle,
      'a dumped rule names the handle of the rule before it (NFTA_RULE_POSITION)',
    );
    const nets = rs.sets.find((s) => s.name === 'nets');
    t.same(nets?.flags, ['interval']);
    t.same([nets?.keyType, nets?.keyLen], [7, 4], 'ipv4_addr, 4 bytes');
    const els = await h.listElements('ip', 'filt', 'nets');
    // The kernel's interval set holds start elements and end-flagged elements (end = last address + 1).
    const show = els.map((e) => `${[...e.key].join('.')}${e.intervalEnd === true ? ' end' : ''}`).sort();
    t.same(show, ['0.0.0.0 end', '10.1.0.0', '10.2.0.0 end', '192.0.2.1', '192.0.2.2 end'].sort());
    const ports = rs.sets.find((s) => s.name === 'ports');
    t.same(ports?.flags, ['map']);
    const map = await h.listElements('ip', 'filt', 'ports');
    t.same(map.map((e) => [e.key.readUInt16BE(0), [...(e.data ?? [])].join('.')]).sort(), [
      [443, '10.0.0.3'],
      [80, '10.0.0.2'],
    ]);
    const gen = await h.getGeneration();
    t.ok(gen > 0, `generation ${gen}`);
  },
);

t.test(
  'a batch with a failing message changes nothing and names the message; a stale generation is refused',
  async (t) => {
    const ns = netnsFixture(t, 'nfe');
    const h = nftFixture(t, ns);
    const fw = new NftFirewall(h, { table: 'ocn-t' });
    await fw.ensure();
    const before = await nftJson(ns);
    const b = new NftBatch()
      .addRule({ family: 'inet', table: 'ocn-t', chain: 'forward', expressions: [stmt.accept()] })
      .addRule({ family: 'inet', table: 'ocn-t', chain: 'missing', expressions: [stmt.accept()] })
      .addChain({ family: 'inet', table: 'ocn-t', name: 'extra' });
    const err = await h.commit(b).catch((e: unknown) => e);
    t.ok(err instanceof NftBatchError, String(err));
    if (!(err instanceof NftBatchError)) return;
    t.equal(err.index, 1, 'the second message failed');
    t.equal(err.errno, 'ENOENT');
    t.same(
      err.failures.map((f) => [f.index, f.describe]),
      [[1, 'add rule inet ocn-t missing']],
    );
    t.match(err.message, /message 2 of 3 \(add rule inet ocn-t missing\).*ENOENT/);
    t.same(await nftJson(ns), before, 'nothing of the batch was applied');

    // Optimistic concurrency: another writer (nft) commits in between, our batch for the old generation fails.
    const gen = await h.getGeneration();
    await nsExec(ns, 'nft', ['add', 'chain', 'inet', 'ocn-t', 'theirs']);
    const after = await nftJson(ns);
    const stale = await h
      .commit(new NftBatch().addChain({ family: 'inet', table: 'ocn-t', name: 'ours' }), { generation: gen })
      .catch((e: unknown) => e);
    t.ok(stale instanceof NftBatchError && stale.errno === 'ERESTART' && stale.index === -1, String(stale));
    t.same(await nftJson(ns), after, 'refused as a whole');
    await h.commit(new NftBatch().addChain({ family: 'inet', table: 'ocn-t', name: 'ours' }), {
      generation: await h.getGeneration(),
    });
    t.ok(
      (await h.listChains('inet', 'ocn-t')).some((c) => c.name === 'ours'),
      'with the current generation it applies',
    );
  },
);

t.test(
  'NAT statements (snat ranges, masquerade flags and ports, redirect) list like nft writes them',
  async (t) => {
    const ours = netnsFixture(t, 'nfn');
    const theirs = netnsFixture(t, 'nfo');
    const h = nftFixture(t, ours);
    const T = { family: 'ip', table: 'nat' } as const;
    const tcp = [...match.l4proto('tcp')];
    await h.commit(
      new NftBatch()
        .addTable({ family: 'ip', name: 'nat' })
        .addChain({
          ...T,
          name: 'pre',
          base: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
        })
        .addChain({
          ...T,
          name: 'post',
          base: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
        })
        .addRule({
          ...T,
          chain: 'pre',
          expressions: [...tcp, ...match.port('dport', 80), ...stmt.redirect(8080)],
        })
        .addRule({
          ...T,
          chain: 'pre',
          expressions: [
            ...tcp,
            ...match.port('dport', [1000, 1010], true),
            ...stmt.nat('dnat', { address: Buffer.from([10, 0, 0, 9]), port: [2000, 2010] }),
          ],
        })
        .addRule({
          ...T,
          chain: 'post',
          expressions: [
            ...match.addr('saddr', parseCidr('10.0.0.0/20')),
            ...stmt.masquerade({ random: true, persistent: true }),
          ],
        })
        .addRule({ ...T, chain: 'post', expressions: [...tcp, ...stmt.masquerade({ port: [1000, 2000] })] })
        .addRule({
          ...T,
          chain: 'post',
          expressions: [
            ...stmt.nat('snat', {
              address: Buffer.from([192, 0, 2, 5]),
              addressMax: Buffer.from([192, 0, 2, 9]),
            }),
          ],
        }),
    );
    await nftF(
      theirs,
      `table ip nat {
  chain pre { type nat hook prerouting priority -100; policy accept;
    tcp dport 80 redirect to :8080
    tcp dport != 1000-1010 dnat to 10.0.0.9:2000-2010
  }
  chain post { type nat hook postrouting priority 100; policy accept;
    ip saddr 10.0.0.0/20 masquerade random,persistent
    meta l4proto tcp masquerade to :1000-2000
    snat to 192.0.2.5-192.0.2.9
  }
}`,
    );
    t.same(await nftJson(ours), await nftJson(theirs));
  },
);

t.test('a netdev ingress chain (its own hook numbering) on a device', async (t) => {
  const ours = netnsFixture(t, 'nfi');
  const theirs = netnsFixture(t, 'nfj');
  const h = nftFixture(t, ours);
  const base = { type: 'filter', hook: 'ingress', priority: 0, policy: 'accept', device: 'lo' } as const;
  await h.commit(
    new NftBatch()
      .addTable({ family: 'netdev', name: 'nd' })
      .addChain({ family: 'netdev', table: 'nd', name: 'ing', base }),
  );
  await nftF(
    theirs,
    'table netdev nd {\n  chain ing { type filter hook ingress device "lo" priority 0; policy accept; }\n}',
  );
  t.same(await nftJson(ours), await nftJson(theirs));
  t.same((await h.listChains('netdev', 'nd'))[0]?.base, base);
});

t.test('rules of simple matches stay readable by iptables-nft in its own tables (DOCKER-USER)', async (t) => {
  const ns = netnsFixture(t, 'nfu');
  await nsExec(ns, 'iptables', ['-N', 'DOCKER-USER']);
  await nsExec(ns, 'iptables', ['-A', 'DOCKER-USER', '-j', 'RETURN']);
  const h = nftFixture(t, ns);
  const where = { family: 'ip', table: 'filter', chain: 'DOCKER-USER', at: 'start' } as const;
  await h.commit(
    new NftBatch()
      .addRule({
        ...where,
        expressions: [
          ...match.ifname('iifname', 'br-y'),
          ...match.ifname('oifname', 'br-y', true),
          stmt.counter(),
          stmt.accept(),
        ],
      })
      .addRule({
        ...where,
        expressions: [
          ...match.ifname('oifname', 'br-y'),
          ...match.addr('daddr', parseCidr('10.0.0.0/24')),
          ...match.l4proto('tcp'),
          ...match.port('dport', 80),
          stmt.counter(),
          stmt.accept(),
        ],
      }),
  );
  const { stdout } = await nsExec(ns, 'iptables', ['-S', 'DOCKER-USER']);
  t.same(stdout.trim().split('\n'), [
    '-N DOCKER-USER',
    '-A DOCKER-USER -d 10.0.0.0/24 -o br-y -p tcp -m tcp --dport 80 -j ACCEPT',
    '-A DOCKER-USER -i br-y ! -o br-y -j ACCEPT',
    '-A DOCKER-USER -j RETURN',
  ]);
});

t.test(
  'sets, interval sets and maps written by us list like the same ones written by `nft -f`',
  async (t) => {
    const ours = netnsFixture(t, 'nfs');
    const theirs = netnsFixture(t, 'nft');
    const h = nftFixture(t, ours);
    const T = { family: 'ip', table: 'sets' } as const;
    const b = new NftBatch()
      .addTable({ family: 'ip', name: 'sets' })
      .addSet({ ...T, name: 'nets', flags: ['interval'], keyType: NFT_TYPE.ipv4_addr, keyLen: 4 })
      .addElements(
        { ...T, set: 'nets' },
        intervals.cidrs([parseCidr('10.1.0.0/16'), parseCidr('192.0.2.1/32'), parseCidr('10.3.0.0/20')]),
      )
      .addSet({ ...T, name: 'ports', flags: ['interval'], keyType: NFT_TYPE.inet_service, keyLen: 2 })
      .addElements({ ...T, set: 'ports' }, intervals.ports([80, [8000, 8100]]))
      .addSet({
        ...T,
        name: 'dmap',
        flags: ['map'],
        keyType: NFT_TYPE.inet_service,
        keyLen: 2,
        dataType: NFT_TYPE.ipv4_addr,
        dataLen: 4,
      })
      .addElements({ ...T, set: 'dmap' }, [{ key: Buffer.from([0, 80]), data: Buffer.from([10, 0, 0, 2]) }])
      .addChain({
        ...T,
        name: 'input',
        base: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' },
      })
      .addRule({
        ...T,
        chain: 'input',
        expressions: [
          ...match.addr('saddr', parseCidr('0.0.0.0/32')).slice(0, 1),
          match.lookup('nets'),
          stmt.accept(),
        ],
      });
    await h.commit(b);
    await nftF(
      theirs,
      `table ip sets {
  set nets { type ipv4_addr; flags interval; elements = { 10.1.0.0/16, 192.0.2.1, 10.3.0.0/20 } }
  set ports { type inet_service; flags interval; elements = { 80, 8000-8100 } }
  map dmap { type inet_service : ipv4_addr; elements = { 80 : 10.0.0.2 } }
  chain input { type filter hook input priority 0; policy accept; ip saddr @nets accept; }
}`,
    );
    t.same(await nftJson(ours), await nftJson(theirs));
    const back = await h.listElements('ip', 'sets', 'ports');
    t.same(
      back
        .map((e) => [e.key.readUInt16BE(0), e.intervalEnd === true])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [80, false],
        [81, true],
        [8000, false],
        [8101, true],
      ],
    );
  },
);

t.test('large batches: 3000 rules in one transaction without echo, 500 with their handles', async (t) => {
  const ns = netnsFixture(t, 'nfg');
  const h = nftFixture(t, ns);
  const fw = new NftFirewall(h, { table: 'ocn-t' });
  await fw.ensure();
  const dnat = (i: number) =>
    publishedPortRules({
      proto: 'tcp',
      hostIp: '192.0.2.1',
      hostPort: 10000 + i,
      containerIp: '10.0.0.2',
      chains: ['prerouting'],
      forward: false,
      hairpin: false,
    });
  const big = new NftBatch();
  for (let i = 0; i < 3000; i++) {
    for (const r of dnat(i))
      big.addRule({ family: 'inet', table: 'ocn-t', chain: r.chain, expressions: r.expressions });
  }
  const gen = await h.getGeneration();
  const res = await h.commit(big, { echo: false });
  t.equal(res.generation, gen + 1, 'one transaction: the generation moved by one');
  const count = async () => (await h.listRules('inet', { table: 'ocn-t', chain: 'prerouting' })).length;
  t.equal(await count(), 3000);
  const { stdout } = await nsExec(ns, 'sh', ['-c', 'nft list chain inet ocn-t prerouting | grep -c dnat']);
  t.equal(stdout.trim(), '3000', 'nft sees them all');
  await h.commit(new NftBatch().flushChain({ family: 'inet', table: 'ocn-t', name: 'prerouting' }));
  const refs = await fw.add(Array.from({ length: 500 }, (_, i) => dnat(i)).flat());
  t.equal(new Set(refs.map((r) => r.handle)).size, 500, '500 distinct handles echoed');
  await fw.delete(refs);
  t.equal(await count(), 0);
});

/** A TCP server in `ns` that answers each connection with the peer address it saw; stops after `count`. */
function peerServer(ns: string, family: 4 | 6, port: number, count = 1) {
  const af = family === 4 ? 'AF_INET' : 'AF_INET6';
  const any = family === 4 ? '0.0.0.0' : '::';
  const py = `import socket
s=socket.socket(socket.${af});s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('${any}',${port}));s.listen()
s.settimeout(15)
for _ in range(${count}):
  c,a=s.accept();c.sendall(a[0].encode());c.close()`;
  return nsExec(ns, 'timeout', ['20', 'python3', '-c', py], true);
}

async function tcpPeer(ns: string, addr: string, port: number, timeoutS = 5): Promise<string> {
  const py = `import socket
s=socket.create_connection(('${addr}',${port}),timeout=${timeoutS});print(s.recv(100).decode())`;
  const r = await nsExec(ns, 'python3', ['-c', py], true);
  return r.code === 0 ? r.stdout.trim() : `failed: ${r.stderr.trim().split('\n').pop()}`;
}

t.test(
  'a published port forwards TCP through a router namespace (IPv4 and IPv6); masquerade rewrites the source',
  async (t) => {
    const lan = netnsFixture(t, 'nfl'); // the outside world
    const router = netnsFixture(t, 'nfr'); // the host
    const ctr = netnsFixture(t, 'nfc'); // a container
    const r = openHandle({ name: router });
    t.teardown(() => r.close());
    const lanH = openHandle({ name: lan });
    const ctrH = openHandle({ name: ctr });
    t.teardown(() => {
      lanH.close();
      ctrH.close();
    });
    for (const h of [r, lanH, ctrH]) await h.setLoopbackUp();
    await r.createVeth({ name: 'lan0', up: true, peer: { name: 'eth0', netns: lanH, up: true } });
    await r.createVeth({ name: 'ctr0', up: true, peer: { name: 'eth0', netns: ctrH, up: true } });
    await r.addAddress('lan0', '198.51.100.1/24');
    await r.addAddress('lan0', 'fd00:51::1/64', { nodad: true });
    await r.addAddress('ctr0', '10.77.0.1/24');
    await r.addAddress('ctr0', 'fd00:77::1/64', { nodad: true });
    await lanH.addAddress('eth0', '198.51.100.2/24');
    await lanH.addAddress('eth0', 'fd00:51::2/64', { nodad: true });
    await ctrH.addAddress('eth0', '10.77.0.2/24');
    await ctrH.addAddress('eth0', 'fd00:77::2/64', { nodad: true });
    await ctrH.addRoute({ dst: 'default', gateway: '10.77.0.1' });
    await ctrH.addRoute({ dst: 'default', gateway: 'fd00:77::1' });
    // The LAN has no route to the containers' network: only DNAT (in) and masquerade (out) can connect them.
    await nsExec(router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);

    const fw = new NftFirewall(nftFixture(t, router), { table: 'ocn-t' });
    await fw.ensure();
    t.match(
      await tcpPeer(lan, '198.51.100.1', 8080),
      /^failed/,
      'nothing listens on the router before publishing',
    );
    await fw.add([
      ...publishedPortRules({
        proto: 'tcp',
        hostIp: '198.51.100.1',
        hostPort: 8080,
        containerIp: '10.77.0.2',
        containerPort: 80,
      }),
      ...publishedPortRules({
        proto: 'tcp',
        family: 6,
        hostPort: 8443,
        containerIp: 'fd00:77::2',
        containerPort: 443,
      }),
    ]);
    const s4 = peerServer(ctr, 4, 80);
    const s6 = peerServer(ctr, 6, 443);
    await sleep(400);
    t.equal(
      await tcpPeer(lan, '198.51.100.1', 8080),
      '198.51.100.2',
      'IPv4: the container answers, and sees the LAN client',
    );
    t.equal(await tcpPeer(lan, 'fd00:51::1', 8443), 'fd00:51::2', 'IPv6 (any host address): forwarded too');
    await s4;
    await s6;

    // Outbound: without masquerade the LAN server cannot answer 10.77.0.2 (no route back); with it, it sees
    // the router's address.
    const server = peerServer(lan, 4, 9000);
    await sleep(400);
    t.match(await tcpPeer(ctr, '198.51.100.2', 9000, 2), /^failed/, 'no masquerade: no way back');
    await fw.add([masqueradeRule({ source: '10.77.0.0/24', notOutInterfaces: ['ctr0'] })]);
    t.equal(
      await tcpPeer(ctr, '198.51.100.2', 9000),
      '198.51.100.1',
      'masqueraded: the server sees the router',
    );
    await server;

    // A port on every host address, reached from the host itself (its own LAN address and 127.0.0.1,
    // which needs route_localnet and the 127.0.0.0/8 masquerade, as Docker does without its proxy) and
    // from the container through the host (hairpin).
    await nsExec(router, 'sysctl', ['-q', '-w', 'net.ipv4.conf.ctr0.route_localnet=1']);
    await fw.add([
      ...publishedPortRules({ proto: 'tcp', hostPort: 8081, containerIp: '10.77.0.2', containerPort: 81 }),
      masqueradeRule({ source: '127.0.0.0/8', outInterface: 'ctr0' }),
    ]);
    const local = peerServer(ctr, 4, 81, 3);
    await sleep(400);
    t.equal(await tcpPeer(router, '198.51.100.1', 8081), '198.51.100.1', 'from the host to its own address');
    t.equal(await tcpPeer(router, '127.0.0.1', 8081), '10.77.0.1', 'from the host to 127.0.0.1');
    t.equal(
      await tcpPeer(ctr, '198.51.100.1', 8081),
      '10.77.0.1',
      'hairpin: the container reaches itself via the host',
    );
    await local;
  },
);
