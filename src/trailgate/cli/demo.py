"""`trailgate demo`: a fresh server, the seed's world built and played, a report, logs validated."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="play the seed scenario against a fresh server")
    parser.add_argument("--keep", action="store_true", help="leave the server running afterwards")
    parser.add_argument("--json", action="store_true", help="write the report as JSON")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for logs")
    parser.set_defaults(func=run)


class Progress:
    """One status line on stderr, rewritten in place on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()

    def say(self, message: str) -> None:
        self.clear()
        print(f"[{time.monotonic() - self.start:5.1f}s] {message}", file=sys.stderr)

    def status(self, message: str) -> None:
        if self.tty:
            print(f"\r\033[K  … {message}", end="", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.tty:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _wait(
    what: str, check: Callable[[], tuple[bool, str]], timeout: float, progress: Progress
) -> str:
    deadline = time.monotonic() + timeout
    while True:
        done, state = check()
        if done:
            progress.clear()
            return state
        if time.monotonic() > deadline:
            progress.clear()
            raise TimeoutError(f"timed out waiting for {what} ({state})")
        progress.status(f"waiting for {what}: {state}")
        time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    from trailgate.demo import report as report_mod
    from trailgate.demo import steps, world
    from trailgate.demo.logcheck import validate_chain
    from trailgate.testing.server import start_server

    progress = Progress()
    data_dir = Path(tempfile.mkdtemp(prefix="trailgate-demo-"))
    progress.say(f"starting trailgate on a free loopback port (data dir {data_dir})")
    server = start_server(
        data_dir=data_dir,
        extra_args=["--trail-delivery-interval", "2", "--digest-interval", "6"],
    )
    results: list[steps.StepResult] = []
    try:
        progress.say(
            f"server ready at {server.endpoint}; management account A = "
            f"{server.management_account_id}"
        )
        root = world.Creds(server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
        w = world.build(
            server.endpoint,
            root,
            server.management_account_id,
            server.create_account,
            say=progress.say,
        )
        world.make_activity(w)
        s3 = w.client("s3", w.roots["A"])

        def delivered() -> tuple[bool, str]:
            counts = {}
            for name, account in (("A", w.a), ("B", w.b), ("C", w.c)):
                out = s3.list_objects_v2(Bucket=w.bucket, Prefix=f"AWSLogs/{account}/CloudTrail/")
                counts[name] = out["KeyCount"]
            state = ", ".join(f"{n}: {c} log files" for n, c in counts.items())
            return all(counts.values()), state

        state = _wait("log delivery into A's bucket", delivered, args.timeout, progress)
        progress.say(f"logs delivered ({state})")
        progress.say("playing the seed")
        results = steps.play(w)

        def digested() -> tuple[bool, str]:
            counts = {}
            for name, account in (("A", w.a), ("B", w.b), ("C", w.c)):
                out = s3.list_objects_v2(
                    Bucket=w.bucket, Prefix=f"AWSLogs/{account}/CloudTrail-Digest/"
                )
                counts[name] = out["KeyCount"]
            return all(counts.values()), ", ".join(f"{n}: {c} digests" for n, c in counts.items())

        _wait("digest files", digested, args.timeout, progress)
        for name, account in (("A", w.a), ("B", w.b), ("C", w.c)):
            chain = validate_chain(
                s3,
                w.client("cloudtrail", w.roots[name]),
                w.bucket,
                account,
                world.REGION,
                w.trails[name],
            )
            got = "valid" if chain.valid else "invalid"
            detail = f"{chain.digests} digests, {chain.log_files} log files" + (
                f"; {'; '.join(chain.problems[:3])}" if chain.problems else ""
            )
            results.append(
                steps.StepResult(
                    f"validator ({name}'s trail)",
                    "check the digest chain and every log file's hash",
                    "valid",
                    got,
                    detail,
                )
            )
        ok = all(r.ok for r in results)
        if args.json:
            print(
                report_mod.as_json(
                    results, {"endpoint": server.endpoint, "accounts": w.account_ids()}
                )
            )
        else:
            print(report_mod.table(results))
        if args.keep:
            _print_keep(server, w)
        return 0 if ok else 1
    except Exception as exc:
        progress.clear()
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if results:
            print(report_mod.table(results), file=sys.stderr)
        print(f"server log: {server.log_path}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            server.stop(keep_state=True)
            shutil.rmtree(data_dir, ignore_errors=True)


def _print_keep(server: Any, w: Any) -> None:

    zoe = w.users["zoe"]
    print(
        f"""
The server keeps running (PID {server.process.pid}); stop it with: kill {server.process.pid}

  export AWS_ENDPOINT_URL={server.endpoint}
  export AWS_DEFAULT_REGION=us-east-1
  # account A's root:
  export AWS_ACCESS_KEY_ID={w.roots["A"].access_key_id}
  export AWS_SECRET_ACCESS_KEY={w.roots["A"].secret_access_key}

An AWS CLI profile for Z's reader (append to ~/.aws/config and ~/.aws/credentials):

  [profile zoe]
  region = us-east-1
  endpoint_url = {server.endpoint}

  [profile z-reader]
  role_arn = {w.roles["Z"]}
  source_profile = zoe
  external_id = {__import__("trailgate.demo.world", fromlist=["EXTERNAL_ID"]).EXTERNAL_ID}
  region = us-east-1
  endpoint_url = {server.endpoint}

  # ~/.aws/credentials
  [zoe]
  aws_access_key_id = {zoe.access_key_id}
  aws_secret_access_key = {zoe.secret_access_key}

  aws s3 ls s3://{w.bucket}/AWSLogs/ --recursive --profile z-reader
""",
        file=sys.stderr,
    )
