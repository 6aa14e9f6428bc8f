"""The one exception type that becomes an AWS error response in any protocol."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AwsError(Exception):
    """An error the client must see exactly as AWS would send it.

    `code` and `message` go into the protocol's error body; `status` is the HTTP status;
    `sender_fault` selects `Sender` vs `Receiver` in query-protocol bodies; `extra` carries
    protocol-specific members (S3's `BucketName`, `Key`, `Resource`, ...).
    """

    code: str
    message: str
    status: int = 400
    sender_fault: bool = True
    extra: dict[str, str] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
