"""Initial sync of Port + Interface (all columns) through the Python IDL (python3-openvswitch), timed inside
Python. Used by bench/sync.ts as the reference.

Usage: /usr/bin/python3 sync-python-idl.py REMOTE EXPECTED_PORTS
Prints one JSON object: {"ms": float, "rss_growth_bytes": int, "ports": int, "interfaces": int}.
RSS growth is VmRSS after the sync minus VmRSS after imports and schema loading (what the IDL's
replica costs).
"""
import json
import sys
import time

import ovs.db.idl
import ovs.poller


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


remote, expected = sys.argv[1], int(sys.argv[2])
helper = ovs.db.idl.SchemaHelper(location="/usr/share/openvswitch/vswitch.ovsschema")
helper.register_table("Port")
helper.register_table("Interface")
rss0 = rss_bytes()
t0 = time.perf_counter()
idl = ovs.db.idl.Idl(remote, helper)
while True:
    idl.run()
    if idl.has_ever_connected() and len(idl.tables["Port"].rows) >= expected:
        break
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.block()
ms = (time.perf_counter() - t0) * 1000
rss1 = rss_bytes()
out = {
    "ms": ms,
    "rss_growth_bytes": rss1 - rss0,
    "ports": len(idl.tables["Port"].rows),
    "interfaces": len(idl.tables["Interface"].rows),
}
idl.close()
print(json.dumps(out))
