"""STS benchmark (issue 4): AssumeRole requests per second, and GetCallerIdentity requests per
second with the temporary credentials AssumeRole returned, against trailgate and moto's server
(its IAM authentication on) in one run. The project's target is AssumeRole >= 2,000/s; it is
printed next to the figure, never asserted.

Each server gets the same world through its own IAM API: a user with an access key and an
identity policy allowing sts:AssumeRole on one role, whose trust policy names the user. The
AssumeRole request (signed by the user's key) and the GetCallerIdentity request (signed with the
session's key and token) are each signed once and replayed. Every replayed AssumeRole really
issues a new session: a durable row per call in trailgate, a list entry in moto.

GetCallerIdentity with session credentials is measured first, while each server holds one
session: moto finds a session by scanning the list of every session it ever issued, so measuring
it after the AssumeRole load would show that scan rather than its request handling.

    .venv/bin/python bench/sts_bench.py [--seconds 5] [--rounds 3] [--connections 16]
        [--generator auto|wrk|python] [--no-moto] [--recording-off-too]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from common import (
    REGION,
    LoadSpec,
    Scenario,
    Server,
    SignedRequest,
    bench_arguments,
    enable_moto_auth,
    measure_rounds,
    pin_server,
    print_machine,
    print_summary,
    ratio_line,
    send_once,
    sign_query_call,
    start_moto,
    start_trailgate,
    xml_value,
)

TARGET_ASSUME_ROLE_RATE = 2000.0
USER = "bench-user"
ROLE = "bench-role"
SESSION = "bench-session"
MOTO_SETUP_KEY = ("testing", "testing")


@dataclass(frozen=True)
class StsRequests:
    assume_role: SignedRequest
    session_identity: SignedRequest


def client(server: Server, service: str, key: tuple[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )


def build_world(server: Server, admin_key: tuple[str, str]) -> tuple[tuple[str, str], str]:
    """The user (and its key) allowed to assume the role; returns the key and the role ARN."""
    iam = client(server, "iam", admin_key)
    user_arn = iam.create_user(UserName=USER)["User"]["Arn"]
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    # A realistic session: the role has a permissions policy of its own.
    iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="read-logs",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}
                ],
            }
        ),
    )
    iam.put_user_policy(
        UserName=USER,
        PolicyName="assume-bench-role",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
                ],
            }
        ),
    )
    return (key["AccessKeyId"], key["SecretAccessKey"]), role_arn


def signed_requests(server: Server, key: tuple[str, str], role_arn: str) -> StsRequests:
    """Both requests, after checking that the server answers each of them as it should."""
    assume = sign_query_call(
        server,
        "sts",
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": role_arn,
            "RoleSessionName": SESSION,
            "DurationSeconds": "3600",
        },
        *key,
    )
    reply = send_once(server, assume)
    if reply.status != 200:
        raise RuntimeError(f"{server.name}: AssumeRole answered {reply.status}: {reply.body!r}")
    session = (
        xml_value(reply.body, "AccessKeyId"),
        xml_value(reply.body, "SecretAccessKey"),
        xml_value(reply.body, "SessionToken"),
    )
    identity = sign_query_call(
        server, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, *session
    )
    reply = send_once(server, identity)
    arn = xml_value(reply.body, "Arn") if reply.status == 200 else ""
    if not arn.endswith(f":assumed-role/{ROLE}/{SESSION}"):
        raise RuntimeError(
            f"{server.name}: GetCallerIdentity with the session answered {reply.status}: "
            f"{reply.body[:500]!r}"
        )
    return StsRequests(assume, identity)


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    spec = LoadSpec(args.seconds, args.max_requests, args.connections, args.generator)
    logs = Path(tempfile.mkdtemp(prefix="sts-bench-"))
    print("== STS: AssumeRole, and GetCallerIdentity with the session's credentials")
    print_machine(spec, args.pin_servers)
    print(f"trailgate: {args.workers} worker process(es) (serve --workers)")
    servers: list[Server] = []
    try:
        prepared: list[tuple[str, Server, StsRequests]] = []
        trailgate, process = start_trailgate(workers=args.workers)
        servers.append(trailgate)
        root = (process.root["RootAccessKeyId"], process.root["RootSecretAccessKey"])
        prepared.append(("trailgate", trailgate, signed_requests(trailgate, *build_world(
            trailgate, root))))
        if args.recording_off_too:
            quiet, quiet_process = start_trailgate(
                "trailgate (recording off)", env={"TRAILGATE_TRAIL_RECORDING": "off"}
            )
            servers.append(quiet)
            root = (quiet_process.root["RootAccessKeyId"],
                    quiet_process.root["RootSecretAccessKey"])
            prepared.append((quiet.name, quiet, signed_requests(quiet, *build_world(quiet, root))))
        moto = None if args.no_moto else start_moto(logs)
        if moto is None and not args.no_moto:
            print("moto_server not found (pip install 'moto[server]'): moto skipped")
        if moto is not None:
            servers.append(moto)
            world = build_world(moto, MOTO_SETUP_KEY)
            enable_moto_auth(moto)
            prepared.append(("moto (auth on)", moto, signed_requests(moto, *world)))

        print("-- GetCallerIdentity with session credentials")
        identity = [Scenario(label, server, r.session_identity) for label, server, r in prepared]
        if args.pin_servers is not None:
            for server in servers:
                pin_server(server, args.pin_servers)
        measure_rounds(identity, spec, args.rounds)
        print("-- AssumeRole")
        assume = [Scenario(label, server, r.assume_role) for label, server, r in prepared]
        measure_rounds(assume, spec, args.rounds)

        print_summary([*_relabel(identity, "GetCallerIdentity (session)"),
                       *_relabel(assume, "AssumeRole")])
        print()
        for phase, scenarios in (("GetCallerIdentity (session)", identity),
                                 ("AssumeRole", assume)):
            by_label = {s.label: s for s in scenarios}
            ours = by_label["trailgate"]
            if "moto (auth on)" in by_label:
                print(ratio_line(f"{phase}: trailgate / moto", ours, by_label["moto (auth on)"]))
            if "trailgate (recording off)" in by_label:
                print(ratio_line(f"{phase}: recording on / off", ours,
                                 by_label["trailgate (recording off)"]))
        rate = statistics.median(r.rate for r in assume[0].results)
        verdict = "met" if rate >= TARGET_ASSUME_ROLE_RATE else "NOT met"
        print(f"  AssumeRole target {TARGET_ASSUME_ROLE_RATE:,.0f}/s: {verdict} "
              f"(trailgate median {rate:,.0f}/s)")
    finally:
        for server in reversed(servers):
            server.stop()
    return 0


def _relabel(scenarios: list[Scenario], phase: str) -> list[Scenario]:
    return [Scenario(f"{phase}: {s.label}", s.server, s.request, s.results) for s in scenarios]


if __name__ == "__main__":
    sys.exit(main())
