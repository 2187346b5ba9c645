// scripts/install-systemd.sh renders the unit and checks it with `systemd-analyze verify` (run here into a
// private root, so nothing is installed on the machine): ExecStart points at the built binary with the flags,
// and the service is ordered before docker.service.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run } from '@ovs-container-network/testkit';
import t from 'tap';

t.test('the systemd unit installs into a root and passes systemd-analyze verify', async (t) => {
  const root = mkdtempSync('/tmp/ocnt-systemd-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const r = await run(
    join(REPO_ROOT, 'scripts/install-systemd.sh'),
    ['--root', root, '--', '--datapath-type', 'netdev', '--ovsdb', 'unix:/run/x y/db.sock'],
    { allowFail: true },
  );
  t.equal(r.code, 0, `install-systemd.sh: ${r.stderr.trim()}`);
  const unit = readFileSync(join(root, 'etc/systemd/system/ovs-container-network.service'), 'utf8');
  t.match(unit, /^Before=docker\.service$/m, 'ordered before docker.service');
  t.match(unit, /^WantedBy=multi-user\.target docker\.service$/m, 'pulled in by docker.service');
  t.match(
    unit,
    /^ExecStart=\S*node \S+\/packages\/docker-plugin\/dist\/bin\/ovs-container-network\.js --datapath-type netdev --ovsdb "unix:\/run\/x y\/db\.sock"$/m,
    'ExecStart runs the built binary with the flags, in systemd quoting',
  );
  const verify = await run(
    'systemd-analyze',
    ['verify', join(root, 'etc/systemd/system/ovs-container-network.service')],
    {
      allowFail: true,
    },
  );
  const problems = verify.stderr
    .split('\n')
    .filter((l) => l.trim() && !/docker\.service|openvswitch|ovsdb-server|ovs-vswitchd/.test(l));
  t.same(problems, [], 'systemd-analyze verify reports nothing about the unit itself');
});
