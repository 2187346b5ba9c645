// Traffic probes for rate-limit and mirroring tests, as small Python programs run inside namespaces with
// the system python3 (no extra packages): a TCP throughput meter that reports bytes per time window, and
// an AF_PACKET capture (packet(7), ETH_P_ALL) that reports every frame an interface receives.
import { run } from './exec.js';
import { nsExec } from './netns.js';
import { SYSTEM_PYTHON } from './paths.js';

/** Runs python in a named namespace, or in a namespace file (`/proc/PID/ns/net` of a container) via nsenter. */
function py(ns: string, args: string[]) {
  return ns.startsWith('/')
    ? run('nsenter', [`--net=${ns}`, SYSTEM_PYTHON, ...args])
    : nsExec(ns, SYSTEM_PYTHON, args);
}

const RATE_PY = String.raw`
import json, socket, sys, time
mode = sys.argv[1]
if mode == 'recv':
    port, secs, win = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]) / 1000
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port)); s.listen(1); s.settimeout(20)
    c, _ = s.accept(); c.settimeout(5)
    total = 0; windows = []; t0 = None; w0 = None; cur = 0; wend = 0
    while True:
        try:
            b = c.recv(262144)
        except socket.timeout:
            break
        now = time.monotonic()
        if not b: break
        if t0 is None: t0 = now; w0 = time.time(); wend = t0 + win
        while now >= wend: windows.append(cur); cur = 0; wend += win
        cur += len(b); total += len(b)
        if now - t0 >= secs: break
    t1 = time.monotonic()
    print(json.dumps({'bytes': total, 'seconds': (t1 - t0) if t0 else 0, 'windows': windows, 'start': w0}))
else:
    host, port, secs = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    for i in range(50):
        try:
            c = socket.create_connection((host, port), timeout=10); break
        except ConnectionRefusedError:
            time.sleep(0.1)
    buf = b'\0' * 65536; end = time.monotonic() + secs
    try:
        while time.monotonic() < end: c.sendall(buf)
    except OSError:
        pass  # the receiver measured what it needed and went (reset, or no window left before its exit)
    c.close()
`;

export interface TcpRate {
  /** Goodput over the whole transfer, Mbit/s (10^6 bit/s). */
  mbps: number;
  bytes: number;
  seconds: number;
  /** Goodput per window, Mbit/s. */
  windows: number[];
  windowMs: number;
  /** Wall-clock time (ms since the epoch) of the first byte received: window i starts windowMs·i later. */
  startMs: number;
}

/**
 * Namespaces are names under /run/netns or namespace files (`/proc/PID/ns/net`).
 * Sends TCP from `fromNs` to `toAddr:port` in `toNs` as fast as the path allows for `seconds`, and measures
 * what arrives (bytes over time from the first byte, and per window). The rate is computed from bytes
 * and time, so it holds on a loaded machine as long as the sender keeps the path full.
 */
export async function measureTcp(
  fromNs: string,
  toNs: string,
  toAddr: string,
  opts: { seconds?: number; windowMs?: number; port?: number } = {},
): Promise<TcpRate> {
  const seconds = opts.seconds ?? 3;
  const windowMs = opts.windowMs ?? 250;
  const port = opts.port ?? 5301;
  const server = py(toNs, ['-c', RATE_PY, 'recv', String(port), String(seconds), String(windowMs)]);
  await py(fromNs, ['-c', RATE_PY, 'send', toAddr, String(port), String(seconds + 0.5)]);
  const out = JSON.parse((await server).stdout) as {
    bytes: number;
    seconds: number;
    windows: number[];
    start: number;
  };
  const toMbps = (bytes: number, s: number) => (s > 0 ? (bytes * 8) / s / 1e6 : 0);
  return {
    mbps: toMbps(out.bytes, out.seconds),
    bytes: out.bytes,
    seconds: out.seconds,
    windows: out.windows.map((b) => toMbps(b, windowMs / 1000)),
    windowMs,
    startMs: out.start * 1000,
  };
}

const CAPTURE_PY = `
import json, socket, struct, sys, time
ifname, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0)); s.settimeout(0.1)
print('ready', flush=True, file=sys.stderr)
out = []; end = time.monotonic() + secs
mac = lambda b: ':'.join('%02x' % x for x in b)
while time.monotonic() < end:
    try:
        data, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING: continue
    f = {'dst': mac(data[0:6]), 'src': mac(data[6:12]), 'type': struct.unpack('!H', data[12:14])[0]}
    p = data[14:]
    if f['type'] == 0x8100: f['vlan'] = struct.unpack('!H', p[0:2])[0] & 0xfff; f['type'] = struct.unpack('!H', p[2:4])[0]; p = p[4:]
    if f['type'] == 0x0800 and len(p) >= 20:
        f['ipsrc'] = socket.inet_ntoa(p[12:16]); f['ipdst'] = socket.inet_ntoa(p[16:20]); f['proto'] = p[9]; f['tos'] = p[1]
        if p[9] == 47:
            g = p[(p[0] & 15) * 4:]
            flags, gp = struct.unpack('!HH', g[0:4])
            inner = g[4 + (4 if flags & 0x8000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x1000 else 0):]
            if gp == 0x88be: inner = inner[8:]
            if gp in (0x6558, 0x88be) and len(inner) >= 34 and inner[12:14] == b'\\x08\\x00':
                f['inner'] = {'src': mac(inner[6:12]), 'dst': mac(inner[0:6]), 'ipsrc': socket.inet_ntoa(inner[26:30]), 'ipdst': socket.inet_ntoa(inner[30:34]), 'proto': inner[23]}
    out.append(f)
print(json.dumps(out))
`;

export interface CapturedFrame {
  src: string;
  dst: string;
  /** EtherType (after a VLAN tag, if any). */
  type: number;
  vlan?: number;
  ipsrc?: string;
  ipdst?: string;
  proto?: number;
  /** The IPv4 TOS byte (DSCP << 2 | ECN). */
  tos?: number;
  /** A GRE or ERSPAN (type II) packet's inner IPv4 frame (proto 47). */
  inner?: { src: string; dst: string; ipsrc: string; ipdst: string; proto: number };
}

/**
 * Captures every frame `ifname` in `ns` receives for `seconds` (an AF_PACKET socket: frames the namespace
 * itself sends are left out). Resolves once the socket is open; `done` resolves with the frames.
 */
export async function capture(
  ns: string,
  ifname: string,
  seconds: number,
): Promise<{ done: Promise<CapturedFrame[]> }> {
  const done = py(ns, ['-c', CAPTURE_PY, ifname, String(seconds)]).then(
    (r) => JSON.parse(r.stdout) as CapturedFrame[],
  );
  // The socket opens within a few ms of the interpreter starting; give it time on a loaded machine.
  await new Promise((r) => setTimeout(r, 600));
  return { done };
}
