// Every lower-layer failure becomes one NETLINK_ERR_* error; kernel refusals carry their errno name.
import { constants } from 'node:os';
import t from 'tap';
import { errnoName, isErrno, NetlinkError, NetlinkKernelError, toNetlinkError } from '../../src/errors.js';

const ctx = { operation: 'createVeth', ifname: 'ocnt0', netns: 'host' };

t.test("the netlink package's 'Request rejected: EEXIST' maps to errno EEXIST", async (t) => {
  const e = toNetlinkError(new Error('Request rejected: EEXIST'), ctx);
  t.ok(e instanceof NetlinkKernelError);
  t.ok(e instanceof NetlinkError);
  t.match(e, {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
    errnoValue: constants.errno.EEXIST,
    ifname: 'ocnt0',
  });
  t.match(e.message, /createVeth interface 'ocnt0' \(netns host\): EEXIST/);
  t.ok(isErrno(e, 'ENODEV', 'EEXIST'));
  t.notOk(isErrno(e, 'ENODEV'));
  t.ok((e as NetlinkError & { cause: unknown }).cause instanceof Error);
});

t.test('numeric rejections and errno-carrying errors map too', async (t) => {
  t.match(toNetlinkError(new Error('Request rejected: 19'), ctx), { errno: 'ENODEV' });
  t.match(toNetlinkError(Object.assign(new Error('x'), { code: 'ENOENT' }), ctx), { errno: 'ENOENT' });
  t.match(toNetlinkError(Object.assign(new Error('setns'), { errno: 1, syscall: 'setns' }), ctx), {
    errno: 'EPERM',
  });
  t.match(toNetlinkError(new Error('Timeout has been reached'), ctx), { code: 'NETLINK_ERR_TIMEOUT' });
  t.match(toNetlinkError('weird', ctx), { code: 'NETLINK_ERR_PROTOCOL' });
  const already = new NetlinkError('NETLINK_ERR_CLOSED', 'closed');
  t.equal(toNetlinkError(already, ctx), already);
});

t.test('errno names', async (t) => {
  t.equal(errnoName(17), 'EEXIST');
  t.equal(errnoName(-19), 'ENODEV');
  t.equal(errnoName(constants.errno.EBUSY), 'EBUSY');
  t.equal(errnoName(constants.errno.EOPNOTSUPP), 'EOPNOTSUPP');
  t.equal(errnoName(9999), 'E9999');
});
