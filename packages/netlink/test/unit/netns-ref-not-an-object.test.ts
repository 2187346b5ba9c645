// Regression: a consumer who wrote `openHandle('blue')` (a name as a bare string) got
// "TypeError: Cannot use 'in' operator to search for 'name' in blue" from describeNetns, before the
// validation that names the argument and what is allowed could run.
import t from 'tap';
import { NetlinkInvalidArgumentError, openHandle } from '../../src/index.js';

t.test('a bare string other than host is refused with what is allowed', async (t) => {
  for (const bad of ['blue', 42, null]) {
    let err: unknown;
    try {
      openHandle(bad as never);
    } catch (e) {
      err = e;
    }
    t.type(err, NetlinkInvalidArgumentError, `openHandle(${JSON.stringify(bad)}): an invalid-argument error`);
    t.match((err as Error).message, /netns.*\{name\}/, 'naming the argument and what is allowed');
  }
});
