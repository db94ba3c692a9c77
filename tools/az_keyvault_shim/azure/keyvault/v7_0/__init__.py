"""Stub of the track-1 azure.keyvault.v7_0 package: az imports it while loading its key commands,
which themselves use the track-2 azure-keyvault-keys client."""
