import t from 'tap';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseEndpoint, validateTransportOptions } from '../../src/transport.js';

t.test('parseEndpoint accepts the OVS active forms', async (t) => {
  t.same(parseEndpoint('unix:/run/openvswitch/db.sock'), { kind: 'unix', path: '/run/openvswitch/db.sock' });
  t.same(parseEndpoint('unix:rel/db.sock'), { kind: 'unix', path: 'rel/db.sock' });
  t.same(parseEndpoint('tcp:127.0.0.1:6640'), { kind: 'tcp', host: '127.0.0.1', port: 6640 });
  t.same(parseEndpoint('ssl:ovsdb.example:6641'), { kind: 'ssl', host: 'ovsdb.example', port: 6641 });
  t.same(parseEndpoint('tcp:[::1]:6641'), { kind: 'tcp', host: '::1', port: 6641 });
  t.same(parseEndpoint('ssl:[fe80::1%eth0]:1'), { kind: 'ssl', host: 'fe80::1%eth0', port: 1 });
});

t.test('parseEndpoint rejects bad endpoints, naming the value and the allowed forms', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /no method prefix/],
    ['db.sock', /no method prefix/],
    ['unix:', /empty socket path/],
    ['punix:/x', /passive/],
    ['ptcp:6640', /passive/],
    ['http:x:1', /unknown method "http"/],
    ['tcp:127.0.0.1', /no port|not a number/],
    ['tcp::6640', /empty host/],
    ['tcp:h:0', /outside 1\.\.65535/],
    ['tcp:h:65536', /outside 1\.\.65535/],
    ['tcp:h:12x', /not a number/],
    ['tcp:::1:6640', /brackets/],
    ['tcp:[::1:6640', /\[ADDR\]:PORT/],
    ['tcp:[nothex]:1', /not an IPv6 address/],
  ];
  for (const [ep, why] of bad) {
    t.throws(() => parseEndpoint(ep), InvalidArgumentError, ep);
    t.throws(() => parseEndpoint(ep), why, ep);
    t.throws(() => parseEndpoint(ep), /expected 'unix:PATH', 'tcp:HOST:PORT' or 'ssl:HOST:PORT'/);
  }
});

t.test('transport options are validated at construction', async (t) => {
  const ssl = parseEndpoint('ssl:127.0.0.1:1');
  const tcp = parseEndpoint('tcp:127.0.0.1:1');
  t.doesNotThrow(() =>
    validateTransportOptions(ssl, { tls: { caFile: '/ca.pem', certFile: '/c', keyFile: '/k' } }),
  );
  t.doesNotThrow(() => validateTransportOptions(ssl, { tls: { ca: 'PEM', checkHostname: false } }));
  t.throws(() => validateTransportOptions(tcp, { tls: {} }), /allowed only with ssl/);
  t.throws(() => validateTransportOptions(ssl, { tls: { certFile: '/c' } }), /certificate without a key/);
  t.throws(() => validateTransportOptions(ssl, { tls: { key: 'k' } }), /key without a certificate/);
  t.throws(() => validateTransportOptions(ssl, { tls: { ca: 'a', caFile: 'b' } }), /tls\.ca and tls\.caFile/);
  t.throws(
    () => validateTransportOptions(ssl, { tls: { rejectUnauthorized: 'no' as never } }),
    /tls\.rejectUnauthorized: "no"/,
  );
  t.throws(
    () => validateTransportOptions(ssl, { tls: { cafile: 'x' } as never }),
    /tls\.cafile: unknown option/,
  );
  t.throws(
    () => validateTransportOptions(ssl, { tls: { ca: 5 as never } }),
    /tls\.ca: number is not allowed/,
  );
  t.throws(
    () => validateTransportOptions(tcp, { connectTimeoutMs: 0 }),
    /connectTimeoutMs: 0 is not allowed/,
  );
  t.throws(() => validateTransportOptions(tcp, { connectTimeoutMs: Number.NaN }), InvalidArgumentError);
});
