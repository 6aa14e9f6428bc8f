"""Request authentication: SigV4 / SigV2 / presigned verification that yields a Principal."""

from trailgate.auth.authenticate import authenticate
from trailgate.auth.checksums import checksum_b64, new_checksum
from trailgate.auth.credentials import CredentialRecord, CredentialResolver
from trailgate.auth.errors import AuthError, AuthErrorKind, ServiceFamily, auth_error
from trailgate.auth.principal import Principal, global_context_keys
from trailgate.auth.result import AuthResult, ChunkSigningContext, PayloadMode
from trailgate.auth.signing_key import DEFAULT_SIGNING_KEYS, SigningKeyCache, derive_signing_key
from trailgate.auth.streaming import AwsChunkedDecoder, PayloadHashVerifier, decode_stream

__all__ = [
    "DEFAULT_SIGNING_KEYS",
    "AuthError",
    "AuthErrorKind",
    "AuthResult",
    "AwsChunkedDecoder",
    "ChunkSigningContext",
    "CredentialRecord",
    "CredentialResolver",
    "PayloadHashVerifier",
    "PayloadMode",
    "Principal",
    "ServiceFamily",
    "SigningKeyCache",
    "auth_error",
    "authenticate",
    "checksum_b64",
    "decode_stream",
    "derive_signing_key",
    "global_context_keys",
    "new_checksum",
]
