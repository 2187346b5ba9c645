// No rtnetlink request is sent from the main thread: the kernel handles each one inside sendmsg, under the
// rtnl lock, so a send from the event loop stalls it for as long as another process (ovs-vswitchd adding
// ports) holds that lock. A child does the handle's everyday requests under `strace -f`; every netlink send
// must come from a thread other than the main one (whose tid is the pid), and a request the handle pipelines
// (createVeth's read-back) leaves with its NEWLINK in one sendmsg. Needs root and strace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { linkCleanup } from '../helpers/fixtures.js';

const child = fileURLToPath(new URL('../fixtures/lane-requests.ts', import.meta.url));

t.test('every rtnetlink request leaves from a worker thread, never from the main thread', async (t) => {
  const name = uniqueName('m');
  linkCleanup(t, name);
  const dir = mkdtempSync(join(tmpdir(), 'ocn-strace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'trace');
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-yy',
      '-e',
      'trace=sendto,sendmsg,ioctl',
      '-o',
      log,
      process.execPath,
      ...process.execArgv,
      child,
      name,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  t.equal(r.status, 0, `the child ran (stderr: ${r.stderr.slice(-800)})`);
  const pid = /pid (\d+)/.exec(r.stdout)?.[1];
  t.ok(pid, 'the child printed its pid');
  const trace = readFileSync(log, 'utf8').split('\n');
  const sends = trace.filter((l) => /^\d+\s+send(to|msg)\(\d+<NETLINK:\[ROUTE/.test(l));
  t.ok(sends.length >= 6, `the requests were traced (${sends.length} netlink sends)`);
  const fromMain = sends.filter((l) => l.split(/\s+/)[0] === pid);
  t.same(fromMain, [], 'none from the main thread');
  t.ok(
    sends.some((l) => /RTM_NEWLINK.*RTM_GETLINK/.test(l)),
    'createVeth: NEWLINK and its read-back GETLINK in one sendmsg',
  );
  // createVeth's `txChecksum: false` is one SIOCETHTOOL per end; the kernel takes the rtnl lock for it too.
  const ethtool = trace.filter((l) => /^\d+\s+ioctl\(.*SIOCETHTOOL/.test(l));
  t.ok(ethtool.length >= 2, `the ethtool ioctls were traced (${ethtool.length})`);
  t.same(
    ethtool.filter((l) => l.split(/\s+/)[0] === pid),
    [],
    'no ethtool ioctl from the main thread',
  );
});
