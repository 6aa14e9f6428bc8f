"""The seed played step by step: who does what, what AWS would answer, and what we got."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from trailgate.demo.world import EXTERNAL_ID, Creds, World

ALLOWED = "allowed"
DENIED = "denied"


@dataclass
class StepResult:
    who: str
    what: str
    expected: str
    got: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.got == self.expected

    def as_dict(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "what": self.what,
            "expected": self.expected,
            "got": self.got,
            "detail": self.detail,
            "ok": self.ok,
        }


class Player:
    """Runs steps, keeping the sessions that earlier steps obtained."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sessions: dict[str, Creds] = {}
        self.results: list[StepResult] = []

    def step(self, who: str, what: str, expected: str, action: Callable[[], str]) -> None:
        try:
            detail = action()
            got = ALLOWED
        except ClientError as exc:
            error = exc.response.get("Error", {})
            got = (
                DENIED
                if error.get("Code") in ("AccessDenied", "AccessDeniedException")
                else (f"error {error.get('Code')}")
            )
            detail = f"{error.get('Code')}: {error.get('Message', '')}"
        self.results.append(StepResult(who, what, expected, got, detail))

    def assume(self, user: str, reader: str, external_id: str | None = None) -> Callable[[], str]:
        def action() -> str:
            sts = self.world.client("sts", self.world.users[user])
            kwargs: dict[str, Any] = {
                "RoleArn": self.world.roles[reader],
                "RoleSessionName": f"{user}-reads-logs",
            }
            if external_id is not None:
                kwargs["ExternalId"] = external_id
            out = sts.assume_role(**kwargs)
            c = out["Credentials"]
            self.sessions[reader] = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
            return out["AssumedRoleUser"]["Arn"]

        return action

    def s3(self, reader: str) -> Any:
        return self.world.client("s3", self.sessions[reader])


def _log_keys(world: World, account: str) -> list[str]:
    s3 = world.client("s3", world.roots["A"])
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=world.bucket, Prefix=f"AWSLogs/{account}/CloudTrail/"
    )
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def play(world: World) -> list[StepResult]:
    w = world
    p = Player(w)
    b_logs, c_logs = _log_keys(w, w.b), _log_keys(w, w.c)
    b_log, c_log = b_logs[0], c_logs[0]

    def records(body: bytes) -> str:
        return f"{len(json.loads(gzip.decompress(body))['Records'])} records"

    # Scenario 1: B.
    p.step("bob (B)", "assume CloudTrailLogReaderB", ALLOWED, p.assume("bob", "B"))
    p.step(
        "B's role session",
        f"list {w.bucket} with Prefix=AWSLogs/{w.b}/",
        ALLOWED,
        lambda: _count(p.s3("B"), w.bucket, f"AWSLogs/{w.b}/"),
    )
    p.step(
        "B's role session",
        "get one of B's log files",
        ALLOWED,
        lambda: records(p.s3("B").get_object(Bucket=w.bucket, Key=b_log)["Body"].read()),
    )
    p.step(
        "B's role session",
        "get one of C's log files",
        DENIED,
        lambda: records(p.s3("B").get_object(Bucket=w.bucket, Key=c_log)["Body"].read()),
    )
    p.step(
        "B's role session",
        f"list {w.bucket} without a prefix",
        DENIED,
        lambda: _count(p.s3("B"), w.bucket, None),
    )
    p.step(
        "B's role session",
        f"list {w.bucket} with C's prefix",
        DENIED,
        lambda: str(
            p.s3("B").list_objects_v2(Bucket=w.bucket, Prefix=f"AWSLogs/{w.c}/")["KeyCount"]
        ),
    )
    # Scenario 1: C.
    p.step("carol (C)", "assume CloudTrailLogReaderC", ALLOWED, p.assume("carol", "C"))
    p.step(
        "C's role session",
        "get one of C's log files",
        ALLOWED,
        lambda: records(p.s3("C").get_object(Bucket=w.bucket, Key=c_log)["Body"].read()),
    )
    p.step(
        "C's role session",
        "delete one of B's log files",
        DENIED,
        lambda: str(p.s3("C").delete_object(Bucket=w.bucket, Key=b_log)),
    )
    # Who may not assume.
    p.step("root of B", "assume CloudTrailLogReaderB", DENIED, _root_assume(w))
    p.step(
        "mallory (B, no AssumeRole policy)",
        "assume CloudTrailLogReaderB",
        DENIED,
        p.assume("mallory", "B"),
    )
    p.step("bob (B)", "assume CloudTrailLogReaderC", DENIED, p.assume("bob", "C"))
    # Scenario 2: Z.
    p.step(
        "zoe (Z)",
        "assume CloudTrailLogReaderZ without an external ID",
        DENIED,
        p.assume("zoe", "Z"),
    )
    p.step(
        "zoe (Z)",
        "assume CloudTrailLogReaderZ with a wrong external ID",
        DENIED,
        p.assume("zoe", "Z", "not-the-id"),
    )
    p.step(
        "zoe (Z)",
        "assume CloudTrailLogReaderZ with the external ID",
        ALLOWED,
        p.assume("zoe", "Z", EXTERNAL_ID),
    )
    p.step(
        "Z's role session",
        f"list all of {w.bucket}",
        ALLOWED,
        lambda: _count(p.s3("Z"), w.bucket, None),
    )
    p.step(
        "Z's role session",
        "get B's and C's log files",
        ALLOWED,
        lambda: ", ".join(
            records(p.s3("Z").get_object(Bucket=w.bucket, Key=k)["Body"].read())
            for k in (b_log, c_log)
        ),
    )
    p.step(
        "Z's role session",
        f"copy one of B's log files into {w.z_bucket}",
        ALLOWED,
        lambda: p.s3("Z").copy_object(
            Bucket=w.z_bucket, Key=b_log, CopySource={"Bucket": w.bucket, "Key": b_log}
        )["CopyObjectResult"]["ETag"],
    )
    p.step(
        "Z's role session",
        "delete one of C's log files",
        DENIED,
        lambda: str(p.s3("Z").delete_object(Bucket=w.bucket, Key=c_log)),
    )
    return p.results


def _root_assume(w: World) -> Callable[[], str]:
    def action() -> str:
        sts = w.client("sts", w.roots["B"])
        out = sts.assume_role(RoleArn=w.roles["B"], RoleSessionName="root-try")
        return out["AssumedRoleUser"]["Arn"]

    return action


def _count(s3: Any, bucket: str, prefix: str | None) -> str:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if prefix is not None:
        kwargs["Prefix"] = prefix
    return f"{s3.list_objects_v2(**kwargs)['KeyCount']} keys"
