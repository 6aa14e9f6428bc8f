"""Tables of S3: buckets and their configuration, objects (metadata only; bodies are in the blob
store), multipart uploads and parts."""

from __future__ import annotations

SINCE = {"since": 3}
