"""Re-exports the track-1 key id parser az vendors (see ../../README.md)."""
from azure.cli.command_modules.keyvault.vendored_sdks.azure_keyvault_t1.key_vault_id import *  # noqa: F401,F403
from azure.cli.command_modules.keyvault.vendored_sdks.azure_keyvault_t1.key_vault_id import (  # noqa: F401
    KeyVaultIdentifier)
