"""The track-1 challenge cache az's vendored Key Vault authentication imports: az's own copy."""
import sys

from azure.cli.command_modules.keyvault.vendored_sdks.azure_keyvault_t1 import \
    http_bearer_challenge_cache as _vendored

sys.modules[__name__] = _vendored
