"""Seeds a running emulator with N Kusto clusters for bench/run, prints
"<bearer token> <path of one cluster>" on stdout and writes that cluster's JSON (as GET
returns it) to <body file>, for the bare yardstick to send back.

Usage: seed_clusters.py <https port> <ca file> <count> <body file>
Talks to the emulator in endpoint mode (https://127.0.0.1:<port>) over one keep-alive
connection, as the default service principal of fixtures/default.json.
"""
import http.client
import json
import ssl
import sys
import urllib.parse

TENANT = "72f988bf-0000-0000-0000-000000000001"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
APP_ID, SECRET = "11111111-1111-1111-1111-111111111111", "emulator-secret"

port, ca_file, count, body_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPSConnection("127.0.0.1", port,
                                   context=ssl.create_default_context(cafile=ca_file))


def call(method, path, body=None, headers=None, raw=False):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path} -> {r.status} {data[:300]!r}")
    if raw:
        return data
    return json.loads(data) if data else None


form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": APP_ID,
                               "client_secret": SECRET,
                               "scope": "https://management.azure.com/.default"})
token = call("POST", f"/{TENANT}/oauth2/v2.0/token", form,
             {"Content-Type": "application/x-www-form-urlencoded"})["access_token"]
auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
v = "?api-version=2024-04-13"
rg = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/bench"
call("PUT", rg + v, json.dumps({"location": "westeurope"}), auth)
body = json.dumps({"location": "westeurope",
                   "sku": {"name": "Standard_E8ads_v5", "tier": "Standard", "capacity": 2}})
for i in range(count):
    call("PUT", f"{rg}/providers/Microsoft.Kusto/clusters/kcbench{i:05d}{v}", body, auth)
target = f"{rg}/providers/Microsoft.Kusto/clusters/kcbench{count // 2:05d}{v}"
raw = call("GET", target, headers=auth, raw=True)
shown = json.loads(raw)
assert shown["properties"]["provisioningState"] == "Succeeded", shown["properties"]
with open(body_file, "wb") as f:
    f.write(raw)
print(token, target)
