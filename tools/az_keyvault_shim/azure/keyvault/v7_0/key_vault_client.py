"""Stub: az resolves operations of this track-1 KeyVaultClient while loading its key commands (for
their help text); `create`, `show`, `encrypt` and `decrypt` then run on the track-2
azure-keyvault-keys client. Commands that would call the track-1 client itself (key delete,
recover, list) cannot work on Debian and fail with a clear message."""


def _unavailable(name):
    def operation(self, *args, **kwargs):
        """Not available: Debian does not ship the track-1 azure-keyvault package."""
        raise NotImplementedError(f"KeyVaultClient.{name}: the track-1 Key Vault client is not available on Debian")
    operation.__name__ = name
    return operation


class _AnyOperation(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _unavailable(name)


class KeyVaultClient(metaclass=_AnyOperation):  # pylint: disable=too-few-public-methods
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("the track-1 Key Vault client is not available on Debian")
