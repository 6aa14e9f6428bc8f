"""The recorder and the delivery worker in process, on a real store: group commit under
concurrency, one lease holder at a time, and a delivery interrupted after its PutObjects but
before its confirmation (a crash there) written again under the same keys, never twice."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from trail_support import delivery_policy

import trailgate.pipeline  # noqa: F401 - registers every service's operations
from trailgate import authorization
from trailgate.auth.principal import Principal
from trailgate.calls import ApiCall
from trailgate.config import Config
from trailgate.runtime import Runtime
from trailgate.services import registry
from trailgate.services.registry import CallContext
from trailgate.services.s3.internal import call_as
from trailgate.store.schema_trail import trail_events
from trailgate.trail import trails
from trailgate.trail.delivery import DeliveryWorker, TickReport


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    config = Config(
        data_dir=tmp_path / "data",
        database_url=database_url,
        trail_delivery_interval=0.1,
        digest_interval=3600,
    )
    rt = Runtime.open(config)
    # These tests drive delivery by hand.
    rt.delivery.stop()
    yield rt
    rt.close()


def invoke(rt: Runtime, principal: Principal, service: str, op: str, **params: Any) -> Any:
    """Authorize like the pipeline, then run the operation."""
    spec = registry.lookup(service, op)
    assert spec is not None
    ctx = CallContext(
        runtime=rt, principal=principal, request_id="req", now=rt.clock.now(),
        region="us-east-1", source_ip="127.0.0.1", user_agent="pytest",
    )  # fmt: skip
    for check in spec.authorize(ctx, params) if spec.authorize else []:
        assert authorization.evaluate_check(ctx, check).allowed, check
    return spec.func(ctx, params)


def logging_trail(rt: Runtime) -> tuple[Principal, str]:
    account = rt.management_account_id
    root = Principal.root(account)
    bucket = f"worker-{account}"
    call_as(rt, root, "CreateBucket", {"Bucket": bucket}, record=False)
    arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/main"
    call_as(
        rt, root, "PutBucketPolicy",
        {"Bucket": bucket, "Policy": delivery_policy(bucket, [(account, arn)])}, record=False,
    )  # fmt: skip
    invoke(rt, root, "cloudtrail", "CreateTrail", Name="main", S3BucketName=bucket)
    invoke(rt, root, "cloudtrail", "StartLogging", Name="main")
    return root, bucket


def record(rt: Runtime, principal: Principal, n: int, name: str = "GetCallerIdentity") -> None:
    for i in range(n):
        rt.recorder.record(
            ApiCall(
                service="sts", operation=name, request_id=f"req-{name}-{i}",
                event_time=datetime.now(UTC), principal=principal,
                access_key_id=None, source_ip="127.0.0.1", user_agent="pytest",
                region="us-east-1", params={}, output={}, read_only=True,
            )
        )  # fmt: skip


def delivered(rt: Runtime, bucket: str) -> dict[str, list[dict[str, Any]]]:
    account = rt.management_account_id
    root = Principal.root(account)
    listing = call_as(rt, root, "ListObjectsV2",
                      {"Bucket": bucket, "Prefix": f"AWSLogs/{account}/CloudTrail/"}, record=False)
    files = {}
    for item in listing.get("Contents", []):
        out = call_as(rt, root, "GetObject", {"Bucket": bucket, "Key": item["Key"]}, record=False)
        body = out["Body"]
        data = body if isinstance(body, bytes) else b"".join(body)
        files[item["Key"]] = json.loads(gzip.decompress(data))["Records"]
    return files


def main_trail(rt: Runtime) -> trails.Trail:
    with rt.db.read() as conn:
        [trail] = trails.account_trails(conn, rt.management_account_id)
    return trail


def test_group_commit_batches_concurrent_records(runtime: Runtime) -> None:
    principal = Principal.iam_user("123456789012", "bob", "AIDABOB", access_key_id="AKIABOB")
    before = runtime.recorder.stats.batches
    threads = [threading.Thread(target=record, args=(runtime, principal, 40)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with runtime.db.read() as conn:
        count = conn.execute(
            trail_events.select().where(trail_events.c.account_id == "123456789012")
        ).fetchall()
    assert len(count) == 640
    # Concurrent callers share commits.
    assert runtime.recorder.stats.batches - before < 640


def test_one_lease_holder_at_a_time(runtime: Runtime) -> None:
    first, second = DeliveryWorker(runtime), DeliveryWorker(runtime)
    assert first.take_lease()
    assert not second.take_lease()
    assert first.take_lease()  # renewal
    first.stop()  # releases the lease
    assert second.take_lease()
    assert not first.take_lease()


def test_round_interrupted_after_put_is_rewritten_not_duplicated(runtime: Runtime) -> None:
    root, bucket = logging_trail(runtime)
    record(runtime, root, 30)
    crashed = DeliveryWorker(runtime)
    assert crashed.take_lease()
    outcome, row = crashed.plan_round(main_trail(runtime))
    assert row is not None and outcome == "done"
    written = crashed.write_round(main_trail(runtime), row, TickReport())
    assert written
    planned = {f["key"] for f in json.loads(row.plan)["files"]}
    assert set(delivered(runtime, bucket)) == planned
    # The process dies here: the files exist, the cursor never moved.
    assert main_trail(runtime).cursor_seq == json.loads(row.plan)["first_seq"]

    successor = DeliveryWorker(runtime)
    assert not successor.take_lease()  # until the dead holder's lease expires
    time.sleep(crashed.lease_ttl + 0.2)
    assert successor.take_lease()
    report = successor.run_once(force=True)
    assert report.errors == []
    files = delivered(runtime, bucket)
    assert set(files) == planned  # rewritten in place, no new file for the same events
    ids = Counter(r["eventID"] for records in files.values() for r in records)
    assert len(ids) == 30 and max(ids.values()) == 1
    assert main_trail(runtime).cursor_seq == json.loads(row.plan)["last_seq"]

    record(runtime, root, 5, name="GetSessionToken")
    successor.run_once(force=True)
    files = delivered(runtime, bucket)
    ids = Counter(r["eventID"] for records in files.values() for r in records)
    assert len(ids) == 35 and max(ids.values()) == 1
    assert len(files) == len(planned) + 1
