"""The access key id a request claims, read without verifying anything.

Used only to attribute a rejected request (bad signature, expired token) to the account of the
key it presented, for CloudTrail; never to authenticate.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from trailgate.http import HttpRequest

_V4_HEADER = re.compile(r"Credential=([A-Z0-9]{16,128})/")
_V2_HEADER = re.compile(r"^AWS ([A-Z0-9]{16,128}):")


def presented_access_key_id(request: HttpRequest) -> str | None:
    header = request.headers.get("authorization") or ""
    for pattern in (_V4_HEADER, _V2_HEADER):
        found = pattern.search(header)
        if found:
            return found.group(1)
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    credential = params.get("X-Amz-Credential")
    if credential:
        return credential.split("/", 1)[0] or None
    return params.get("AWSAccessKeyId") or None
