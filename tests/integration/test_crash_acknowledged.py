"""Crash safety of acknowledged STS calls: SIGKILL the server while clients call AssumeRole, restart
it, and check that every session a client received still works and that every acknowledged call
is in CloudTrail's event history (its session row and its event are committed together, by the
recorder's committer thread, before the response goes out)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from tests.conftest import kill_under_load

from trailgate.testing.server import ServerProcess

pytestmark = pytest.mark.postgres


def _client(server: ServerProcess, service: str, key: tuple[str, ...]) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=key[2] if len(key) > 2 else None,
        config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
    )


def _world(server: ServerProcess) -> tuple[tuple[str, str], str]:
    root = (server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    iam = _client(server, "iam", root)
    user_arn = iam.create_user(UserName="caller")["User"]["Arn"]
    key = iam.create_access_key(UserName="caller")["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"]["Arn"]
    iam.put_user_policy(UserName="caller", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    return (key["AccessKeyId"], key["SecretAccessKey"]), role_arn


def test_acknowledged_sessions_and_events_survive_a_kill(
    crash_server: Callable[..., ServerProcess],
) -> None:
    server = crash_server()
    key, role_arn = _world(server)
    time.sleep(1.0)  # IAM changes reach the auth caches
    acknowledged: list[tuple[str, tuple[str, str, str]]] = []
    lock = threading.Lock()

    def caller(index: int, stop: threading.Event) -> None:
        sts = _client(server, "sts", key)
        for n in range(10_000):
            if stop.is_set():
                return
            try:
                reply = sts.assume_role(RoleArn=role_arn, RoleSessionName=f"s{index}-{n}")
            except Exception:  # the server is being killed under us
                return
            creds = reply["Credentials"]
            with lock:
                acknowledged.append((
                    reply["ResponseMetadata"]["RequestId"],
                    (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
                ))

    kill_under_load(server, caller, threads=4, delay=(0.5, 1.0))
    assert acknowledged, "no AssumeRole was answered before the kill"
    print("AssumeRole calls answered before the kill:", len(acknowledged))

    server = server.restart()
    assumed = role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
    for _request_id, session in acknowledged:
        assert _client(server, "sts", session).get_caller_identity()["Arn"].startswith(assumed)

    root = (server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    cloudtrail = _client(server, "cloudtrail", root)
    recorded: set[str] = set()
    pages = cloudtrail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}]
    )
    for page in pages:
        for event in page["Events"]:
            recorded.add(json.loads(event["CloudTrailEvent"])["requestID"])
    missing = [rid for rid, _ in acknowledged if rid not in recorded]
    assert not missing, f"{len(missing)} acknowledged AssumeRole calls have no event"
