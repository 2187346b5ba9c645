import { nsExec } from './netns.js';

/**
 * Sends `bytes` over TCP from namespace `fromNs` to `toAddr:port` in `toNs` with busybox nc and checks that
 * every byte arrived (a ping alone proves nothing on the userspace datapath: PROTOCOLS.md §1).
 * Returns the number of bytes received.
 */
export async function tcpTransfer(
  fromNs: string,
  toNs: string,
  toAddr: string,
  bytes = 2 * 1024 * 1024,
  port = 5201,
): Promise<number> {
  const server = nsExec(toNs, 'sh', ['-c', `timeout 15 busybox nc -l -p ${port} | wc -c`], true);
  await new Promise((r) => setTimeout(r, 300));
  await nsExec(
    fromNs,
    'sh',
    [
      '-c',
      `head -c ${bytes} /dev/zero | timeout 15 busybox nc ${toAddr.includes(':') ? `${toAddr}` : toAddr} ${port}`,
    ],
    true,
  );
  const { stdout } = await server;
  return Number.parseInt(stdout.trim() || '0', 10);
}
