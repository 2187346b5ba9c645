// The `_Server.Database` checks a clustered client makes before trusting a server (ovsdb-cs.c):
// existence, schema present, connected, leader (unless followers are allowed), and not older than an index
// already seen.
import t from 'tap';
import {
  decodeServerDatabaseRow,
  type ServerDatabaseRow,
  ServerTracker,
} from '../../src/session/server-db.js';

const CID = 'aaaaaaaa-0000-0000-0000-000000000000';
const row = (o: Partial<ServerDatabaseRow>): ServerDatabaseRow => ({
  name: 'DB',
  model: 'clustered',
  connected: true,
  leader: true,
  cid: CID,
  sid: undefined,
  index: 10,
  hasSchema: true,
  ...o,
});

t.test('decodes wire rows (optional columns empty or set)', async (t) => {
  t.same(
    decodeServerDatabaseRow({
      name: 'OVN_Northbound',
      model: 'clustered',
      connected: true,
      leader: false,
      cid: ['uuid', CID],
      sid: ['set', []],
      index: 42,
      schema: '{"name":"x"}',
    }),
    {
      name: 'OVN_Northbound',
      model: 'clustered',
      connected: true,
      leader: false,
      cid: CID,
      sid: undefined,
      index: 42,
      hasSchema: true,
    },
  );
  t.same(decodeServerDatabaseRow({ name: '_Server', model: 'standalone', schema: ['set', []] }), {
    name: '_Server',
    model: 'standalone',
    connected: false,
    leader: false,
    cid: undefined,
    sid: undefined,
    index: undefined,
    hasSchema: false,
  });
  t.equal(decodeServerDatabaseRow({ index: ['set', [7]], cid: ['set', [['uuid', CID]]] }).index, 7);
  t.equal(decodeServerDatabaseRow({ cid: ['set', [['uuid', CID]]] }).cid, CID);
});

t.test('standalone and relay databases are always usable; missing ones never', async (t) => {
  const tr = new ServerTracker('DB', true);
  t.ok(tr.check([row({ model: 'standalone', leader: false, connected: false })]).ok);
  t.ok(tr.check([row({ model: 'relay', leader: false })]).ok);
  const missing = tr.check([row({ name: 'Other' })]);
  t.same(missing.ok ? null : missing.reason, 'no-database');
});

t.test('leader-only refuses followers and disconnected members; followers allowed on opt-in', async (t) => {
  const tr = new ServerTracker('DB', true);
  const f = tr.check([row({ leader: false })]);
  t.equal(f.ok ? null : f.reason, 'not-leader');
  const d = tr.check([row({ connected: false })]);
  t.equal(d.ok ? null : d.reason, 'not-connected');
  const n = tr.check([row({ hasSchema: false })]);
  t.equal(n.ok ? null : n.reason, 'no-schema');
  const any = new ServerTracker('DB', false);
  t.ok(any.check([row({ leader: false })]).ok);
  const d2 = any.check([row({ leader: false, connected: false })]);
  t.equal(d2.ok ? null : d2.reason, 'not-connected', 'a follower cut off from its cluster is never used');
});

t.test('a server older than one already seen is skipped; a new cluster id resets the floor', async (t) => {
  const tr = new ServerTracker('DB', false);
  t.ok(tr.check([row({ index: 50 })]).ok);
  t.equal(tr.minIndex, 50);
  const old = tr.check([row({ index: 49 })]);
  t.equal(old.ok ? null : old.reason, 'stale');
  t.ok(tr.check([row({ index: 50 })]).ok, 'equal is fine');
  tr.observe(row({ index: 70 }));
  t.equal(tr.minIndex, 70);
  tr.observe(row({ name: 'Other', index: 900 }));
  t.equal(tr.minIndex, 70, 'other databases do not count');
  t.notOk(tr.check([row({ index: 60 })]).ok);
  t.ok(tr.check([row({ index: 3, cid: 'bbbbbbbb-0000-0000-0000-000000000000' })]).ok, 'new cluster');
  t.equal(tr.minIndex, 3);
});
