// Stopping the plugin (SIGTERM) always ends, and says where it waited when it did not end in time: a
// connection dockerd had used kept close() waiting forever in CI. Real plugin binary on the shared OVS
// sandbox. Needs root.
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { postPlugin, startPluginProcess } from '../helpers/plugin.js';

const exitOf = (p: { child: import('node:child_process').ChildProcess }, ms: number) =>
  new Promise<number | string>((resolve) => {
    const c = p.child;
    if (c.exitCode !== null || c.signalCode !== null) return resolve(c.exitCode ?? String(c.signalCode));
    const timer = setTimeout(() => resolve(`still running after ${ms} ms`), ms);
    c.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? String(signal));
    });
  });

const open = (path: string) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });

t.test('SIGTERM with keep-alive connections open: closed at once, exit 0', async (t) => {
  const p = await startPluginProcess();
  t.teardown(() => p.stop());
  // Docker keeps its connections to the plugin open between calls.
  const s = await open(p.socket);
  t.teardown(() => s.destroy());
  s.write('POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 0\r\n\r\n');
  await new Promise((r) => s.once('data', r));
  t.equal((await postPlugin(p.socket, '/NetworkDriver.GetCapabilities', {})).status, 200, 'serving');
  p.child.kill('SIGTERM');
  t.equal(await exitOf(p, 20_000), 0, 'the plugin exits 0');
  t.match(p.logs.join('\n'), /"msg":"closed; exiting"/, 'after closing everything');
});

t.test('a close step that hangs: the watchdog exits 1 after --shutdown-timeout and names it', async (t) => {
  const p = await startPluginProcess({ extraArgs: ['--shutdown-timeout', '1'] });
  t.teardown(() => p.stop());
  // A client that stalls in the middle of a request holds its connection until the request timeout (10 s):
  // longer than this plugin may take to stop.
  const s = await open(p.socket);
  t.teardown(() => s.destroy());
  s.on('error', () => undefined);
  s.write('POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: plugin\r\n');
  await new Promise((r) => setTimeout(r, 100));
  p.child.kill('SIGTERM');
  t.equal(await exitOf(p, 8_000), 1, 'the plugin exits 1, before the stalled request times out');
  const line = p.logs
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.level === 50);
  t.match(
    line,
    {
      msg: 'shutdown did not finish within 1 s; exiting',
      waitingFor: /Docker API socket/,
      resources: Array,
    },
    'the log names the step it was waiting for',
  );
});

t.test('--shutdown-timeout refuses what is not a number of seconds', async (t) => {
  await t.rejects(
    startPluginProcess({ extraArgs: ['--shutdown-timeout', 'soon'] }),
    /--shutdown-timeout.*soon.*a number of seconds ≥ 0/s,
  );
});
