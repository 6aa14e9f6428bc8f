"""boto 2 (still used by older tooling) against the query protocol.

boto 2 signs IAM and STS requests with a credential scope derived from the host; against
127.0.0.1 the scope's service is "127", so routing must fall back to the action name. Its
responses are parsed by boto 2's own SAX handlers.
"""

from __future__ import annotations

from typing import Any

import pytest
from boto.exception import BotoServerError
from boto.iam.connection import IAMConnection
from boto.regioninfo import RegionInfo
from boto.sts.connection import STSConnection

from trailgate.errors import AwsError
from trailgate.http import Headers, HttpRequest, HttpResponse
from trailgate.protocol import Route, codec_for, credential_scope_service, route

REQUEST_ID = "c6104cbe-af31-11e0-8154-cbc7ccf896c7"


class _FakeHttpResponse:
    def __init__(self, response: HttpResponse) -> None:
        self.status = response.status
        self.reason = "OK" if response.status == 200 else "Error"
        self._body = response.body
        self._headers = response.headers

    def read(self) -> bytes:
        return self._body

    def getheader(self, name: str, default: str | None = None) -> str | None:
        for key, value in self._headers:
            if key.lower() == name.lower():
                return value
        return default

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self._headers)


class Server:
    """Stands in for boto 2's HTTP layer: authorizes the request, then runs our protocol code."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.output: dict[str, Any] | None = None
        self.error: AwsError | None = None
        self.request: HttpRequest | None = None
        self.route: Route | None = None
        self.parsed: dict[str, Any] | None = None
        connection._mexe = self._mexe

    def _mexe(self, boto_request: Any, *args: Any, **kwargs: Any) -> _FakeHttpResponse:
        boto_request.authorize(connection=self.connection)
        body = boto_request.body
        path, _, query = boto_request.path.partition("?")
        self.request = HttpRequest(
            method=boto_request.method,
            raw_path=path,
            query_string=query,
            headers=Headers([("Host", f"{boto_request.host}:4566"), *boto_request.headers.items()]),
            body=body.encode() if isinstance(body, str) else body,
        )
        self.route = route(self.request)
        codec = codec_for(self.route.service)
        self.parsed = codec.parse(self.request, self.route)
        if self.error is not None:
            response = codec.serialize_error(self.error, REQUEST_ID, self.route)
        else:
            response = codec.serialize(self.route, self.output, REQUEST_ID)
        return _FakeHttpResponse(response)


@pytest.fixture
def sts() -> Server:
    region = RegionInfo(name="us-east-1", endpoint="127.0.0.1")
    return Server(
        STSConnection(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            region=region,
            port=4566,
            is_secure=False,
        )
    )


@pytest.fixture
def iam() -> Server:
    return Server(
        IAMConnection(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            host="127.0.0.1",
            port=4566,
            is_secure=False,
        )
    )


def test_boto2_assume_role(sts: Server) -> None:
    from datetime import UTC, datetime

    sts.output = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "secretkey",
            "SessionToken": "token==",
            "Expiration": datetime(2024, 5, 6, 8, 0, 0, tzinfo=UTC),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROA123:sess",
            "Arn": "arn:aws:sts::123456789012:assumed-role/r/sess",
        },
    }
    assumed = sts.connection.assume_role(
        "arn:aws:iam::123456789012:role/r", "sess", duration_seconds=900
    )
    assert sts.request is not None
    assert credential_scope_service(sts.request) == "127"
    assert sts.route == Route("sts", "AssumeRole")
    assert sts.parsed == {
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "RoleSessionName": "sess",
        "DurationSeconds": 900,
    }
    assert assumed.credentials.access_key == "ASIAEXAMPLE"
    assert assumed.credentials.session_token == "token=="
    assert assumed.credentials.expiration == "2024-05-06T08:00:00Z"
    assert assumed.user.arn == "arn:aws:sts::123456789012:assumed-role/r/sess"


def test_boto2_iam_create_user(iam: Server) -> None:
    from datetime import UTC, datetime

    iam.output = {
        "User": {
            "Path": "/ops/",
            "UserName": "carol",
            "UserId": "AIDAEXAMPLE",
            "Arn": "arn:aws:iam::123456789012:user/ops/carol",
            "CreateDate": datetime(2024, 5, 6, tzinfo=UTC),
        }
    }
    result = iam.connection.create_user("carol", path="/ops/")
    assert iam.route == Route("iam", "CreateUser")
    assert iam.parsed == {"UserName": "carol", "Path": "/ops/"}
    user = result["create_user_response"]["create_user_result"]["user"]
    assert user["user_name"] == "carol"
    assert user["arn"] == "arn:aws:iam::123456789012:user/ops/carol"
    assert result["create_user_response"]["response_metadata"]["request_id"] == REQUEST_ID


def test_boto2_sees_error_code_and_message(iam: Server) -> None:
    iam.error = AwsError("NoSuchEntity", "The user with name ghost cannot be found.", status=404)
    with pytest.raises(BotoServerError) as caught:
        iam.connection.get_user("ghost")
    assert caught.value.status == 404
    assert caught.value.error_code == "NoSuchEntity"
    assert caught.value.error_message == "The user with name ghost cannot be found."
    assert caught.value.request_id == REQUEST_ID
