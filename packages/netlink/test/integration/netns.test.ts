// Named namespaces made and removed natively, checked with `ip netns` / `ip -n`; handles by name, path, pid, fd.
import { closeSync, openSync } from 'node:fs';
import { ipJson, run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { createNetns, deleteNetns, listNetns, NetlinkHandle, openHandle } from '../../src/index.js';
import { ipLink, ipLinks, linkCleanup, netnsFixture } from '../helpers/fixtures.js';

const ipNetnsList = async (): Promise<string[]> =>
  (await ipJson<{ name: string }[]>(['netns', 'list'])).map((n) => n.name);

t.test('createNetns makes a namespace `ip` sees and uses; deleteNetns removes it', async (t) => {
  const name = uniqueName('ns');
  t.teardown(() => run('ip', ['netns', 'del', name], { allowFail: true }));
  createNetns(name);
  t.ok((await ipNetnsList()).includes(name), 'ip netns list shows it');
  t.ok(listNetns().includes(name), 'listNetns shows it');
  const links = await ipLinks(name);
  t.same(
    links.map((l) => l.ifname),
    ['lo'],
    'a fresh namespace has only lo',
  );
  t.notOk(links[0]?.flags.includes('UP'), 'lo starts down, as with ip netns add');
  const prop = await run('findmnt', ['-n', '-o', 'PROPAGATION', '/run/netns']);
  t.match(prop.stdout, /shared/, '/run/netns is a shared mount point');

  deleteNetns(name);
  t.notOk((await ipNetnsList()).includes(name), 'gone from ip netns list');
  t.notOk(listNetns().includes(name));
});

t.test('creating a taken name fails with EEXIST and leaves the existing one alone', async (t) => {
  const name = netnsFixture(t);
  const h = openHandle({ name });
  t.teardown(() => h.close());
  await h.setLoopbackUp();
  t.throws(() => createNetns(name), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
    operation: 'createNetns',
  });
  const lo = (await ipLinks(name)).find((l) => l.ifname === 'lo');
  t.ok(lo?.flags.includes('UP'), 'the existing namespace is the same one (lo still up)');
});

t.test('deleting a missing namespace fails with ENOENT; bad names are refused up front', async (t) => {
  t.throws(() => deleteNetns(uniqueName('gone')), { code: 'NETLINK_ERR_KERNEL', errno: 'ENOENT' });
  const before = listNetns();
  for (const bad of ['a/b', '', '..', 'with space']) {
    t.throws(() => createNetns(bad), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'name', value: bad });
  }
  t.same(listNetns(), before, 'nothing was created');
});

t.test('handles open by name, path, pid and fd; a missing namespace is ENOENT', async (t) => {
  const name = netnsFixture(t);
  const byName = openHandle({ name });
  const byPath = NetlinkHandle.open({ path: `/run/netns/${name}` });
  const fd = openSync(`/run/netns/${name}`, 'r');
  const byFd = openHandle({ fd });
  const byPid = openHandle({ pid: process.pid });
  t.teardown(() => {
    for (const h of [byName, byPath, byFd, byPid]) h.close();
    closeSync(fd);
  });
  await byName.setLoopbackUp();
  for (const h of [byName, byPath, byFd]) {
    const links = await h.listLinks();
    t.same(
      links.map((l) => [l.name, l.up]),
      [['lo', true]],
      `${h.netns}: sees the namespace's own lo`,
    );
  }
  // {pid: self} is the host namespace: a link made there with `ip` is visible with the same index.
  const probe = uniqueName('pb');
  const probePeer = uniqueName('pb');
  linkCleanup(t, probe);
  await run('ip', ['link', 'add', probe, 'type', 'veth', 'peer', 'name', probePeer]);
  const viaIp = await ipLink(probe);
  t.equal(
    (await byPid.getLink(probe)).index,
    viaIp?.ifindex,
    "{pid: self} sees host links with ip's ifindex",
  );
  await t.rejects(
    byName.getLink(probe),
    { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV' },
    'the named namespace does not',
  );
  t.throws(() => openHandle({ name: uniqueName('nope') }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'ENOENT',
    operation: 'openHandle',
  });
  t.throws(() => openHandle({ pid: 0 }), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'netns.pid' });
  t.throws(() => openHandle({ path: 'relative' }), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'netns' });
});

t.test('a closed handle fails pending requests and refuses new ones with NETLINK_ERR_CLOSED', async (t) => {
  const h = openHandle();
  const inFlight: Promise<unknown>[] = [h.listLinks(), h.getLink('lo'), h.listRoutes()];
  h.close();
  for (const p of inFlight)
    await t.rejects(p, { code: 'NETLINK_ERR_CLOSED' }, 'in-flight requests fail, not hang');
  await t.rejects(h.listLinks(), { code: 'NETLINK_ERR_CLOSED' });
  t.throws(() => h.netnsFd, { code: 'NETLINK_ERR_CLOSED' });
});
