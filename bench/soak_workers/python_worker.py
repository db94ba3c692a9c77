"""Soak worker: the seed workflow in a loop with Debian's python3-azure (run on /usr/bin/python3)
in proxy mode. Started by bench/soak, which exported the proxy-mode environment and the CMK_*
variables; argv[1] is the worker's name. Protocol (one JSON object a line on stdout; the driver
answers on stdin): see bench/soak_workers/README in bench/soak's docstring.

Each iteration, with fresh credentials and clients (as a new CI job would have):
  resource group -> vault (soft delete, purge protection, 7-day retention, the test principal may
  manage keys) -> RSA-2048 key -> user-assigned identity -> get/wrapKey/unwrapKey for it ->
  cluster with that identity -> PATCH keyVaultProperties -> Succeeded -> read back;
then "written" (the driver checks every acknowledged write through its own path), then cleanup
(cluster, identity, vault, resource group) and "cleaned" (the driver checks it is all gone)."""
import hashlib
import json
import os
import sys
import time

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.keys import KeyClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.kusto import KustoManagementClient
from azure.mgmt.kusto.models import AzureSku, Cluster, ClusterUpdate, Identity, KeyVaultProperties
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource import ResourceManagementClient

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
    line = sys.stdin.readline()
    return line.strip() or "stop"


def describe(e):
    """type, HTTP status, error code and message of a failed call."""
    status = getattr(e, "status_code", None)
    err = getattr(e, "error", None)
    code = getattr(err, "code", None) if err is not None else None
    return {"type": type(e).__name__, "status": status, "code": code, "msg": str(e)[:800]}


class Failed(Exception):
    pass


ATTEMPTED = set()


def step(i, name, fn, phase="workflow"):
    ATTEMPTED.add(name)
    t0 = time.time()
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported to the driver
        emit(ev="error", w=WORKER, i=i, step=name, phase=phase, t0=t0, t1=time.time(), **describe(e))
        raise Failed(name) from e


def check(i, name, cond, what):
    if not cond:
        emit(ev="error", w=WORKER, i=i, step=name, phase="workflow", t0=time.time(), t1=time.time(),
             type="CheckFailed", status=None, code=None, msg=what[:800])
        raise Failed(name)


class Clients:
    """A fresh credential and fresh clients, as a new CI job (or a rerun of one) would have."""

    def __init__(self, vault_uri):
        self.cred = ClientSecretCredential(TENANT, APP, SECRET)
        self.rmc = ResourceManagementClient(self.cred, SUB)
        self.kvm = KeyVaultManagementClient(self.cred, SUB)
        self.msi = ManagedServiceIdentityClient(self.cred, SUB)
        self.kusto = KustoManagementClient(self.cred, SUB)
        self.keys = KeyClient(vault_uri, self.cred)

    def close(self):
        for c in (self.rmc, self.kvm, self.msi, self.kusto, self.keys, self.cred):
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass


def iteration(i):
    tag = f"{WORKER}{i:05d}"
    rg, vault, cluster, ident_name = f"rg-soak-{tag}", f"kv-{tag}", f"soak{tag}", f"id-{tag}"
    vault_uri = f"https://{vault}.vault.azure.net/"
    acked = {"rg": rg}
    clients = Clients(vault_uri)
    rmc, kvm, msi, kusto, keys = clients.rmc, clients.kvm, clients.msi, clients.kusto, clients.keys
    ok = False
    ATTEMPTED.clear()
    emit(ev="start", w=WORKER, i=i, t=time.time())
    try:
        step(i, "group", lambda: rmc.resource_groups.create_or_update(rg, {"location": LOC}))
        acked["group"] = True
        me = {"tenant_id": TENANT, "object_id": SP_OBJECT_ID, "permissions": {"keys": ["all"]}}
        v = step(i, "vault", lambda: kvm.vaults.begin_create_or_update(rg, vault, {
            "location": LOC,
            "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                           "access_policies": [me], "enable_soft_delete": True,
                           "enable_purge_protection": True, "soft_delete_retention_in_days": 7}},
            polling_interval=1).result())
        check(i, "vault", v.properties.enable_purge_protection and v.properties.vault_uri == vault_uri,
              f"vault: {v.properties}")
        acked["vault"] = vault
        key = step(i, "key", lambda: keys.create_rsa_key("cmk", size=2048))
        acked["key"] = {"name": "cmk", "kid": key.id,
                        "n_sha256": hashlib.sha256(key.key.n).hexdigest()}
        ident = step(i, "identity", lambda: msi.user_assigned_identities.create_or_update(
            rg, ident_name, {"location": LOC}))
        acked["identity"] = {"id": ident.id, "principalId": ident.principal_id}
        grant = {"tenant_id": TENANT, "object_id": ident.principal_id,
                 "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}
        step(i, "grant", lambda: kvm.vaults.update_access_policy(
            rg, vault, "add", {"properties": {"access_policies": [grant]}}))
        acked["grant"] = ident.principal_id
        c = step(i, "cluster", lambda: kusto.clusters.begin_create_or_update(rg, cluster, Cluster(
            location=LOC, sku=AzureSku(name="Standard_E8ads_v5", tier="Standard", capacity=2),
            identity=Identity(type="UserAssigned", user_assigned_identities={ident.id: {}})),
            polling_interval=1).result())
        check(i, "cluster", c.provisioning_state == "Succeeded", f"after create: {c.provisioning_state}")
        acked["cluster"] = {"name": cluster, "cmk": None}
        cmk = KeyVaultProperties(key_name="cmk", key_version="", key_vault_uri=vault_uri, user_identity=ident.id)
        u = step(i, "cmk", lambda: kusto.clusters.begin_update(rg, cluster, ClusterUpdate(key_vault_properties=cmk),
                                                               polling_interval=1).result())
        check(i, "cmk", u.provisioning_state == "Succeeded" and u.key_vault_properties
              and u.key_vault_properties.key_name == "cmk", f"after CMK: {u.provisioning_state} {u.key_vault_properties}")
        acked["cluster"]["cmk"] = {"keyVaultUri": vault_uri, "keyName": "cmk", "keyVersion": "",
                                   "userIdentity": ident.id}
        got = step(i, "readback", lambda: kusto.clusters.get(rg, cluster))
        kvp = got.key_vault_properties
        check(i, "readback", got.provisioning_state == "Succeeded" and kvp and kvp.key_name == "cmk"
              and kvp.key_vault_uri == vault_uri and kvp.user_identity == ident.id,
              f"read back: {got.provisioning_state} {kvp}")
        ok = True
    except Failed:
        pass
    emit(ev="written", w=WORKER, i=i, t=time.time(), ok=ok, acked=acked)
    if driver_says() == "stop":
        return False

    # Cleanup: retried (each failure reported) until everything is gone or CLEANUP_SECONDS passed;
    # each attempt with fresh clients (MSAL keeps a token endpoint's 5xx for 60 s per credential).
    deadline = time.time() + CLEANUP_SECONDS
    gone = False
    while not gone and time.time() < deadline:
        clients.close()
        clients = Clients(vault_uri)
        rmc, kvm, msi, kusto = clients.rmc, clients.kvm, clients.msi, clients.kusto
        try:
            # A group already gone (an earlier attempt's delete went through although its client
            # gave up) took everything in it: deleting its cluster now would only be refused.
            if "group" in ATTEMPTED and not step(i, "group-exists", lambda: rmc.resource_groups.check_existence(rg),
                                                 phase="cleanup"):
                gone = True
                break
            if "cluster" in ATTEMPTED:
                step(i, "delete-cluster", lambda: kusto.clusters.begin_delete(rg, cluster, polling_interval=1).result(),
                     phase="cleanup")
            if "identity" in ATTEMPTED:
                step(i, "delete-identity", lambda: msi.user_assigned_identities.delete(rg, ident_name), phase="cleanup")
            if "vault" in ATTEMPTED:
                step(i, "delete-vault", lambda: kvm.vaults.delete(rg, vault), phase="cleanup")
            if "group" in ATTEMPTED:
                def delete_group():
                    try:
                        rmc.resource_groups.begin_delete(rg, polling_interval=1).result()
                    except ResourceNotFoundError:
                        pass
                step(i, "delete-group", delete_group, phase="cleanup")
            gone = True
        except Failed:
            time.sleep(2)
    clients.close()
    emit(ev="cleaned", w=WORKER, i=i, t=time.time(), ok=gone)
    return driver_says() != "stop"


def main():
    i = 0
    while iteration(i):
        i += 1
    emit(ev="exit", w=WORKER, t=time.time())


if __name__ == "__main__":
    try:
        main()
    except HttpResponseError as e:  # not expected: every call is inside step()
        emit(ev="crash", w=WORKER, t=time.time(), **describe(e))
        raise
