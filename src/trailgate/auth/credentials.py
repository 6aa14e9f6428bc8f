"""What `authenticate` needs to know about an access key, and how it asks for it.

The store owns the keys; authentication only sees them through a `CredentialResolver`, so this
package stays free of I/O and is tested with plain dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from trailgate.auth.principal import Principal


@dataclass(frozen=True)
class CredentialRecord:
    """One access key: its secret, the principal it authenticates as, and its session state.

    `session_token` is set for temporary (ASIA...) keys: requests must then carry exactly that
    token. `expires_at` is the session's expiry. The secret never appears in repr().
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal: Principal
    session_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    active: bool = True

    @property
    def is_temporary(self) -> bool:
        return self.session_token is not None


CredentialResolver = Callable[[str], CredentialRecord | None]
