"""The pytest fixture of clients/python/cmk_emulator_pytest.py, used as docs/test-helpers.md says:
Debian's Python Azure SDK in proxy mode against the session's emulator, the environment handed to
a subprocess (curl), and the context manager without pytest. Run by tests/cli/helper_pytest_fixture.sh
with CURL_CA_BUNDLE, SSL_CERT_DIR and REQUESTS_CA_BUNDLE preset to the system bundle, as on many CI
images; the fixture's environment must override them. docs/test-helpers.md runs it too."""
import os
import subprocess
import urllib.error

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.resource import ResourceManagementClient, SubscriptionClient

from cmk_emulator_pytest import CmkEmulator

# The default fixture's tenant, subscription and service principal (docs/identity.md).
TENANT = "72f988bf-0000-0000-0000-000000000001"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
SP_APP_ID, SP_SECRET = "11111111-1111-1111-1111-111111111111", "emulator-secret"


def test_the_fixture_hands_back_ports_ca_and_environment(cmk_emulator):
    assert cmk_emulator.https_port > 0 and cmk_emulator.http_port > 0
    assert os.path.isfile(cmk_emulator.ca_file)
    assert cmk_emulator.env["HTTPS_PROXY"] == f"http://127.0.0.1:{cmk_emulator.http_port}"
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"):
        assert cmk_emulator.env[name] == cmk_emulator.ca_file, name
    assert cmk_emulator.admin("/_emulator/health")["status"] == "ok"
    with pytest.raises(urllib.error.HTTPError):
        cmk_emulator.admin("/_emulator/no-such-thing")


def test_the_azure_sdk_creates_a_resource_group_through_the_proxy(cmk_emulator_env):
    # Whatever CA variables were preset are replaced for this test...
    assert os.environ["REQUESTS_CA_BUNDLE"] == cmk_emulator_env.ca_file
    cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
    subscriptions = [s.subscription_id for s in SubscriptionClient(cred).subscriptions.list()]
    assert subscriptions == [SUBSCRIPTION]
    resources = ResourceManagementClient(cred, SUBSCRIPTION)
    group = resources.resource_groups.create_or_update("rg-fixture", {"location": "westeurope"})
    assert group.name == "rg-fixture"
    assert "rg-fixture" in [g.name for g in resources.resource_groups.list()]
    # ...and the requests reached the emulator by their real host names, through its proxy.
    journal = cmk_emulator_env.admin("/_emulator/requests")["value"]
    assert any(r["method"] == "PUT" and r["host"] == "management.azure.com" and
               "/resourcegroups/rg-fixture" in r["path"].lower() for r in journal), journal
    assert cmk_emulator_env.admin("/_emulator/proxy/refusals")["count"] == 0


def test_the_environment_is_restored_after_a_test(cmk_emulator):
    assert os.environ.get("REQUESTS_CA_BUNDLE") != cmk_emulator.ca_file
    assert "HTTPS_PROXY" not in os.environ


def test_curl_trusts_the_emulator_with_the_environment_despite_preset_ca_variables(cmk_emulator):
    # What many CI images preset: without CURL_CA_BUNDLE in the exports, curl would trust only this.
    system = {"CURL_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_DIR": "/etc/ssl/certs"}
    env = {**os.environ, **system, **cmk_emulator.env}
    out = subprocess.run(["curl", "-sSf", "https://management.azure.com/_emulator/health"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and '"status":"ok"' in out.stdout, out.stderr


def test_the_context_manager_starts_and_stops_an_emulator_of_its_own(cmk_emulator, tmp_path):
    with CmkEmulator(args=["--pid-file", str(tmp_path / "pid")]) as other:
        assert other.http_port != cmk_emulator.http_port
        pid = int((tmp_path / "pid").read_text())
        assert pid == other.process.pid
        with other.environment():
            assert os.environ["HTTPS_PROXY"].endswith(f":{other.http_port}")
        assert os.environ.get("HTTPS_PROXY") != other.env["HTTPS_PROXY"]
    assert other.process is None
    # A clean stop removes the pid file.
    assert not (tmp_path / "pid").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
