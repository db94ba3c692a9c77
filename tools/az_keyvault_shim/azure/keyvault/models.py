"""The track-1 models az's vendored Key Vault code imports: az's own copy, plus a JsonWebKey
stand-in (the vendored copy lacks it; it is only used for proof-of-possession tokens, which the
key commands never use)."""
from azure.cli.command_modules.keyvault.vendored_sdks.azure_keyvault_t1.models import *  # noqa: F401,F403


class JsonWebKey:  # pylint: disable=too-few-public-methods
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)
