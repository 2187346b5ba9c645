// Runs OvnOrchestrator inside a chassis' namespace for a test (`ip netns exec NS tsx this-file JSON`):
// the Orchestrator creates veths in its own namespace, which must be the chassis' (its ovs-vswitchd's).
// Prints one JSON line: the attachment, or {error}.
import { OvnOrchestrator } from '../../src/orchestrator/index.js';

const req = JSON.parse(process.argv[2] ?? '{}') as {
  op: 'attach' | 'detach' | 'setRateLimit';
  name: string;
  ovsdb: string;
  nb: string[];
  args: Record<string, unknown>;
};
const o = await OvnOrchestrator.connect({
  name: req.name,
  ovsdb: req.ovsdb,
  ovn: {
    nb: req.nb,
    bridge: 'br-int',
    underlayMtu: undefined,
    installTimeoutMs: 20_000,
    remoteWaitMs: 20_000,
  },
  orchestrator: { datapathType: 'netdev' },
});
try {
  const a = req.args as never as { ref: never; limits: never; dscp?: number | null };
  const out =
    req.op === 'attach'
      ? await o.attach(req.args as never)
      : req.op === 'setRateLimit'
        ? await o.setRateLimit(a.ref, a.limits, 'dscp' in a ? { dscp: a.dscp ?? null } : {})
        : await o.detach(req.args as never);
  process.stdout.write(`${JSON.stringify({ ok: out })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
} finally {
  await o.close();
}
