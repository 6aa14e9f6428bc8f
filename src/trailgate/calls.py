"""`ApiCall`: what the pipeline knows about one finished call, handed to the CloudTrail recorder.

Built once per request, allowed or denied, succeeded or failed. Secrets are never added here:
parameters and output pass through the recorder's redaction before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal
    from trailgate.errors import AwsError
    from trailgate.store.raw import RawWrite


@dataclass
class ApiCall:
    service: str  # "iam" | "sts" | "s3" | "cloudtrail" | "organizations"
    operation: str  # the botocore operation name, which is CloudTrail's eventName
    request_id: str
    event_time: datetime
    principal: Principal | None  # None when authentication itself failed
    access_key_id: str | None  # as presented, even when authentication failed
    source_ip: str
    user_agent: str
    region: str
    params: dict[str, Any] | None  # None when the input could not be parsed
    output: dict[str, Any] | None = None
    error: AwsError | None = None
    read_only: bool = False
    # Facts an operation left for the recorder (resources, the other account of the call...).
    trail: dict[str, Any] = field(default_factory=dict)
    bucket: str | None = None  # S3: the bucket of the call
    key: str | None = None  # S3: the object key of the call
    # CloudTrail's eventType: "AwsApiCall", or "AwsConsoleSignIn" / "AwsConsoleAction" for the
    # console (whose calls also carry sessionCredentialFromConsole).
    event_type: str = "AwsApiCall"
    # Rows the operation stores in the transaction that queues the call's events (one commit
    # and one fsync instead of two; STS sessions). Dropped if the call fails after all.
    writes: list[RawWrite] = field(default_factory=list)
