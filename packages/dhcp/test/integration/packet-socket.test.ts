// Root: the addon's AF_PACKET socket (netlink's PacketSocket) between two namespaces: what its BPF filter lets
// through (ARP, IPv4 UDP to port 68) and what it drops (other ports, fragments, its own frames), and close().

import { PacketSocket } from '@ovs-container-network/netlink';
import { createNetns, deleteNetns, nsExec, run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { buildArpReply, buildUdpFrame, parseArp, parseUdpFrame } from '../../src/index.js';

const A_MAC = Buffer.from([2, 0, 0, 0, 0, 0xa]);

function udp(dstPort: number, payload = Buffer.from('x')): Buffer {
  return buildUdpFrame({
    srcMac: A_MAC,
    dstMac: Buffer.from([2, 0, 0, 0, 0, 0xbb]), // neither end's MAC: PACKET_OTHERHOST on the peer
    srcIp: '10.1.0.1',
    dstIp: '10.1.0.2',
    srcPort: 67,
    dstPort,
    payload,
  });
}

t.test('filter: ARP and UDP to 68 pass; other ports, fragments and own frames do not', async (t) => {
  const a = await createNetns(uniqueName('pka'));
  t.teardown(() => deleteNetns(a));
  const b = await createNetns(uniqueName('pkb'));
  t.teardown(() => deleteNetns(b));
  await run('ip', ['-n', a, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1', 'netns', b]);
  await nsExec(a, 'ip', ['link', 'set', 'p0', 'up']);
  await nsExec(b, 'ip', ['link', 'set', 'p1', 'up']);
  const sa = PacketSocket.open({ name: a }, 'p0');
  const sb = PacketSocket.open({ name: b }, 'p1');
  t.teardown(() => Promise.all([sa.close(), sb.close()]));
  t.equal(sb.netns, b);

  sa.send(udp(69));
  const frag = udp(68);
  frag.writeUInt16BE(0x0001, 14 + 6); // a later fragment (offset 8): it has no UDP header
  sa.send(frag);
  sa.send(udp(68, Buffer.from('dhcp')));
  const got = await sb.recv(2000);
  t.equal(
    parseUdpFrame(got as Buffer)?.payload.toString(),
    'dhcp',
    'the first frame through is the port-68 one',
  );
  t.equal(await sb.recv(200), null, 'nothing else came through');
  t.equal(await sa.recv(200), null, 'the sender does not see its own frames');

  // An ARP frame from b reaches a (the filter's other half).
  sb.send(
    buildArpReply(
      { op: 'request', senderMac: '02:00:00:00:00:0a', senderIp: '10.1.0.1', targetMac: '', targetIp: '' },
      Buffer.from([2, 0, 0, 0, 0, 0xb]),
      '10.1.0.2',
    ),
  );
  t.match(parseArp((await sa.recv(2000)) as Buffer), {
    op: 'reply',
    senderIp: '10.1.0.2',
    targetIp: '10.1.0.1',
  });

  const pending = sb.recv(5000);
  const t0 = Date.now();
  await sb.close();
  t.equal(await pending, null, 'a pending recv ends with null on close');
  t.ok(Date.now() - t0 < 1000, 'close waits at most one slice');
  t.throws(() => sb.send(udp(68)), { code: 'NETLINK_ERR_CLOSED' });
  t.throws(() => PacketSocket.open({ name: b }, 'nope0'), {
    code: 'NETLINK_ERR_KERNEL',
    message: /ENODEV|nope0/,
  });
});
