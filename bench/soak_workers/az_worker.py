"""Soak worker: the seed workflow in a loop with Debian's az (2.45) in proxy mode, the commands of
tests/clients/az/cmk_seed_workflow_proxy.sh (az rest for the cluster PUT and PATCH: this az's
`az kusto cluster create/update` cannot; the PYTHONPATH shim for `az keyvault key`). Started by
bench/soak with the proxy-mode environment, its own AZURE_CONFIG_DIR and the CMK_* variables;
argv[1] is the worker's name. Same protocol as python_worker.py. az logs in once (its token cache
is the config dir's, as a CI job's would be); every command is a new az process."""
import json
import os
import subprocess
import sys
import time

ENV = os.environ
TENANT, APP, SECRET = ENV["CMK_TENANT"], ENV["CMK_SP_APP_ID"], ENV["CMK_SP_SECRET"]
SP_OBJECT_ID, SUB = ENV["CMK_SP_OBJECT_ID"], ENV["CMK_SUBSCRIPTION"]
LOC = "westeurope"
WORKER = sys.argv[1]
CLEANUP_SECONDS = float(ENV.get("CMK_SOAK_CLEANUP_SECONDS", "240"))


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def driver_says():
    return sys.stdin.readline().strip() or "stop"


class Failed(Exception):
    pass


ATTEMPTED = set()


def az(i, name, *args, phase="workflow", parse=True, since=None):
    """Runs one az command; on failure reports it (exit code, stderr) and raises Failed. `since`:
    when the logical step began (a `wait` belongs to the PUT or PATCH that started the operation)."""
    ATTEMPTED.add(name)
    t0 = since or time.time()
    p = subprocess.run(["az", *args, "-o", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        emit(ev="error", w=WORKER, i=i, step=name, phase=phase, t0=t0, t1=time.time(), type="AzExit",
             status=p.returncode, code=None, msg=f"az {' '.join(args[:3])}: {p.stderr.strip()[-800:]}")
        raise Failed(name)
    out = p.stdout.strip()
    return json.loads(out) if parse and out else out


def check(i, name, cond, what):
    if not cond:
        emit(ev="error", w=WORKER, i=i, step=name, phase="workflow", t0=time.time(), t1=time.time(),
             type="CheckFailed", status=None, code=None, msg=what[:800])
        raise Failed(name)


def iteration(i):
    tag = f"{WORKER}{i:05d}"
    rg, vault, cluster, ident_name = f"rg-soak-{tag}", f"kv-{tag}", f"soak{tag}", f"id-{tag}"
    vault_uri = f"https://{vault}.vault.azure.net/"
    url = (f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Kusto/"
           f"clusters/{cluster}?api-version=2022-11-11")
    acked = {"rg": rg}
    ok = False
    ATTEMPTED.clear()
    emit(ev="start", w=WORKER, i=i, t=time.time())
    try:
        az(i, "group", "group", "create", "-n", rg, "-l", LOC)
        acked["group"] = True
        v = az(i, "vault", "keyvault", "create", "-g", rg, "-n", vault, "-l", LOC, "--enable-purge-protection", "true",
               "--retention-days", "7", "--no-self-perms")
        check(i, "vault", v["properties"].get("enablePurgeProtection") is True
              and v["properties"].get("vaultUri") == vault_uri, f"vault: {v['properties']}")
        acked["vault"] = vault
        az(i, "policy-me", "keyvault", "set-policy", "-n", vault, "--object-id", SP_OBJECT_ID, "--key-permissions", "all")
        key = az(i, "key", "keyvault", "key", "create", "--vault-name", vault, "-n", "cmk", "--kty", "RSA", "--size", "2048")
        acked["key"] = {"name": "cmk", "kid": key["key"]["kid"]}
        ident = az(i, "identity", "identity", "create", "-g", rg, "-n", ident_name, "-l", LOC)
        acked["identity"] = {"id": ident["id"], "principalId": ident["principalId"]}
        az(i, "grant", "keyvault", "set-policy", "-n", vault, "--object-id", ident["principalId"],
           "--key-permissions", "get", "wrapKey", "unwrapKey")
        acked["grant"] = ident["principalId"]
        ATTEMPTED.add("cluster")
        put_t0 = time.time()
        az(i, "cluster", "rest", "--method", "put", "--url", url, "--body", json.dumps({
            "location": LOC, "sku": {"name": "Standard_E8ads_v5", "tier": "Standard", "capacity": 2},
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {ident["id"]: {}}}}))
        az(i, "cluster-wait", "kusto", "cluster", "wait", "--created", "-g", rg, "-n", cluster, "--interval", "1", parse=False,
           since=put_t0)
        acked["cluster"] = {"name": cluster, "cmk": None}
        cmk = {"keyVaultUri": vault_uri, "keyName": "cmk", "keyVersion": "", "userIdentity": ident["id"]}
        patch_t0 = time.time()
        az(i, "cmk", "rest", "--method", "patch", "--url", url, "--body", json.dumps({"properties": {"keyVaultProperties": cmk}}))
        az(i, "cmk-wait", "kusto", "cluster", "wait", "--updated", "-g", rg, "-n", cluster, "--interval", "1", parse=False,
           since=patch_t0)
        acked["cluster"]["cmk"] = cmk
        got = az(i, "readback", "kusto", "cluster", "show", "-g", rg, "-n", cluster)
        kvp = got.get("keyVaultProperties") or {}
        check(i, "readback", got.get("provisioningState") == "Succeeded" and kvp.get("keyName") == "cmk"
              and kvp.get("keyVaultUri") == vault_uri and kvp.get("userIdentity") == ident["id"],
              f"read back: {got.get('provisioningState')} {kvp}")
        ok = True
    except Failed:
        pass
    emit(ev="written", w=WORKER, i=i, t=time.time(), ok=ok, acked=acked)
    if driver_says() == "stop":
        return False

    deadline = time.time() + CLEANUP_SECONDS
    gone = False
    while not gone and time.time() < deadline:
        try:
            # A group already gone (an earlier attempt's delete went through although its client
            # gave up) took everything in it: deleting its cluster now would only be refused.
            if "group" in ATTEMPTED and az(i, "group-exists", "group", "exists", "-n", rg, phase="cleanup") is False:
                gone = True
                break
            if "cluster" in ATTEMPTED:
                az(i, "delete-cluster", "rest", "--method", "delete", "--url", url, phase="cleanup", parse=False)
                az(i, "delete-cluster-wait", "kusto", "cluster", "wait", "--deleted", "-g", rg, "-n", cluster,
                   "--interval", "1", phase="cleanup", parse=False)
            if "identity" in ATTEMPTED:
                az(i, "delete-identity", "identity", "delete", "-g", rg, "-n", ident_name, phase="cleanup", parse=False)
            if "vault" in ATTEMPTED:
                az(i, "delete-vault", "keyvault", "delete", "-g", rg, "-n", vault, phase="cleanup", parse=False)
            if "group" in ATTEMPTED:
                az(i, "delete-group", "group", "delete", "-n", rg, "--yes", phase="cleanup", parse=False)
            gone = True
        except Failed:
            time.sleep(2)
    emit(ev="cleaned", w=WORKER, i=i, t=time.time(), ok=gone)
    return driver_says() != "stop"


def main():
    p = subprocess.run(["az", "login", "--service-principal", "-u", APP, "-p", SECRET, "--tenant", TENANT, "-o", "none"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        emit(ev="crash", w=WORKER, t=time.time(), type="AzLogin", status=p.returncode, code=None, msg=p.stderr[-800:])
        sys.exit(1)
    i = 0
    while iteration(i):
        i += 1
    emit(ev="exit", w=WORKER, t=time.time())


if __name__ == "__main__":
    main()
