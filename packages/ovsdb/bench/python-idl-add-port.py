"""The add-port transaction through the Python IDL (python3-openvswitch), timed inside Python.

Usage: /usr/bin/python3 python-idl-add-port.py REMOTE BRIDGE PREFIX N
Prints one JSON object: {"connect_ms": float, "ms": [per-transaction milliseconds]}.
Each transaction inserts an Interface, a Port referencing it, and adds the Port to BRIDGE.ports
(Row.addvalue sends a "mutate ... insert", like the other clients of the benchmark).
"""
import json
import sys
import time

import ovs.db.idl
import ovs.poller

remote, bridge_name, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

t0 = time.perf_counter()
helper = ovs.db.idl.SchemaHelper(location="/usr/share/openvswitch/vswitch.ovsschema")
helper.register_columns("Bridge", ["name", "ports"])
helper.register_columns("Port", ["name", "interfaces"])
helper.register_columns("Interface", ["name"])
idl = ovs.db.idl.Idl(remote, helper)
while True:
    idl.run()
    if idl.has_ever_connected():
        break
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.block()
connect_ms = (time.perf_counter() - t0) * 1000

bridge = next(r for r in idl.tables["Bridge"].rows.values() if r.name == bridge_name)
times = []
for i in range(n):
    name = "%s%d" % (prefix, i)
    start = time.perf_counter()
    txn = ovs.db.idl.Transaction(idl)
    iface = txn.insert(idl.tables["Interface"])
    iface.name = name
    port = txn.insert(idl.tables["Port"])
    port.name = name
    port.interfaces = [iface]
    bridge.addvalue("ports", port.uuid)
    status = txn.commit_block()
    times.append((time.perf_counter() - start) * 1000)
    if status != ovs.db.idl.Transaction.SUCCESS:
        print(json.dumps({"error": "transaction %d: %s %s" % (i, status, txn.get_error())}))
        sys.exit(1)
idl.close()
print(json.dumps({"connect_ms": connect_ms, "ms": times}))
