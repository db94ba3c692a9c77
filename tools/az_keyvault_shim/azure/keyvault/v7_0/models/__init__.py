"""Stub of the track-1 models: az only catches this exception type."""


class KeyVaultErrorException(Exception):
    pass
