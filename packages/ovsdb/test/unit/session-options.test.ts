// OvsdbSession and Replica options are checked at construction, with the field, the value and what is
// allowed; nothing connects.
import t from 'tap';
import { OvsdbSession } from '../../src/session/session.js';

t.test('session options', async (t) => {
  t.throws(() => new OvsdbSession(null as never), { code: 'OVSDB_ERR_INVALID_ARGUMENT' });
  t.throws(() => new OvsdbSession({ remotes: 'unix:/x', database: '' }), {
    message: /database: "" is not allowed/,
  });
  t.throws(() => new OvsdbSession({ remotes: [], database: 'D' }), {
    message: /remotes: \[\] is not allowed/,
  });
  t.throws(() => new OvsdbSession({ remotes: 5 as never, database: 'D' }), {
    message: /remotes: 5 is not allowed/,
  });
  t.throws(() => new OvsdbSession({ remotes: 'unix:/x', database: 'D', leaderOnly: 'yes' as never }), {
    message: /leaderOnly: "yes" is not allowed; expected a boolean/,
  });
  t.throws(() => new OvsdbSession({ remotes: 'unix:/x', database: 'D', bogus: 1 } as never), {
    message: /unknown option "bogus"/,
  });
  t.throws(() => new OvsdbSession({ remotes: 'unix:/x', database: 'D', backoff: { maxMs: -1 } }), {
    message: /backoff.maxMs/,
  });
  const s = new OvsdbSession({ remotes: ['unix:/a', 'unix:/b'], database: 'D' });
  t.equal(s.status.state, 'connecting');
  t.equal(s.client, undefined);
  t.equal(s.leaderOnly, true, 'leader-only by default');
  t.same([...s.remotes].sort(), ['unix:/a', 'unix:/b']);
  await s.close();
  t.equal(s.status.state, 'closed');
  await t.rejects(s.connected(), { code: 'OVSDB_ERR_NOT_CONNECTED' });
  await t.rejects(s.transact('D', []), { code: 'OVSDB_ERR_NOT_CONNECTED' });
  const states: string[] = [];
  for await (const st of s.statusChanges()) states.push(st.state);
  t.same(states, ['closed'], 'a closed session streams its final status and ends');
});
