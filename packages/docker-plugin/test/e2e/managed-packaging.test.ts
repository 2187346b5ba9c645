// Regression (issue 10): the managed plugin's packaging as a newcomer met it.
// - `docker build -f docker/Dockerfile .` sent a 252 MB context: there was no .dockerignore, so the host's
//   node_modules, dist/ and the built addon went along. The context Docker really receives is checked here by
//   building a scratch image that copies all of it (FROM scratch needs no registry).
// - `scripts/build-managed-plugin.sh --help` printed the script's own `set`/`cd` lines.
// Needs root and dockerd.
import { join } from 'node:path';
import { docker, ensureDocker, REPO_ROOT, run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';

t.test('the Docker build context leaves out what the host built and installed', async (t) => {
  await ensureDocker();
  const image = `${uniqueName('ctx')}:latest`;
  t.teardown(() => docker(['rmi', '-f', image]).catch(() => undefined));
  // Context as the managed plugin's Dockerfile gets it: the repository root with its .dockerignore.
  await run('/usr/bin/docker', ['build', '-q', '-t', image, '-f', '-', '.'], {
    cwd: REPO_ROOT,
    input: 'FROM scratch\nCOPY . /ctx\n',
    timeoutMs: 120_000,
  });
  const id = (await docker(['create', image, '/none'])).stdout.trim();
  t.teardown(() => docker(['rm', '-f', id]).catch(() => undefined));
  const files = (await run('bash', ['-c', `/usr/bin/docker export ${id} | tar -t`])).stdout.split('\n');
  t.ok(files.includes('ctx/pnpm-lock.yaml'), 'the lockfile is in the context');
  t.ok(files.includes('ctx/packages/netlink/native/ocn_netlink.c'), 'the sources are in the context');
  for (const left of ['node_modules/', '/dist/', 'packages/netlink/build/', '.git/']) {
    t.notOk(
      files.some((f) => f.includes(left)),
      `nothing under ${left} (found ${
        files
          .filter((f) => f.includes(left))
          .slice(0, 3)
          .join(', ') || 'none'
      })`,
    );
  }
  t.ok(files.length < 2000, `a small context: ${files.length} entries`);
});

t.test('build-managed-plugin.sh --help prints the usage and nothing of the script', async (t) => {
  const { stdout } = await run(join(REPO_ROOT, 'scripts/build-managed-plugin.sh'), ['--help']);
  t.match(stdout, /scripts\/build-managed-plugin\.sh \[NAME\]/, 'the usage line');
  t.match(stdout, /--offline/, 'every flag');
  t.notMatch(stdout, /set -euo|cd "\$\(dirname/, 'no shell lines of the script');
  const bad = await run(join(REPO_ROOT, 'scripts/build-managed-plugin.sh'), ['--bogus'], { allowFail: true });
  t.not(bad.code, 0, 'an unknown flag is refused');
  t.match(bad.stderr, /unknown flag --bogus/);
});
