"""Endpoint benchmark (issue 3): authenticated STS GetCallerIdentity requests per second against
trailgate, moto's server (its IAM authentication on) and a bare uvicorn app, in one run.

The same kind of request goes to each: a GetCallerIdentity POST signed with SigV4 by an IAM
user's access key (created through each server's own IAM API), replayed by the load generator.
The bare app answers a fixed 200 body without looking at the request, so trailgate/bare is the
share of the HTTP stack's ceiling that trailgate keeps while it verifies the signature, resolves
the key, runs the call and durably records it for CloudTrail. Nothing here asserts a number.

    .venv/bin/python bench/endpoint_bench.py [--seconds 5] [--rounds 3] [--connections 16]
        [--generator auto|wrk|python] [--no-moto] [--recording-off-too]

wrk (apt-get install wrk) is the default generator when installed, else forked Python processes
on raw sockets; moto needs `pip install "moto[server]"` (skipped, and said so, when missing).
"""

from __future__ import annotations

import sys
import tempfile
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
    start_bare,
    start_moto,
    start_trailgate,
    xml_value,
)

GET_CALLER_IDENTITY = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
USER = "bench-user"
# moto accepts any key while its authentication is off; these create the real user and key.
MOTO_SETUP_KEY = ("testing", "testing")


def iam_client(server: Server, key: str, secret: str) -> Any:
    return boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def create_user_key(server: Server, admin_key: tuple[str, str]) -> tuple[str, str]:
    """An IAM user and one access key of it, made through the server's IAM API."""
    iam = iam_client(server, *admin_key)
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def checked_identity_request(server: Server, key: tuple[str, str]) -> SignedRequest:
    """The signed GetCallerIdentity, after checking that the server answers it as the user."""
    request = sign_query_call(server, "sts", GET_CALLER_IDENTITY, *key)
    reply = send_once(server, request)
    if reply.status != 200 or not xml_value(reply.body, "Arn").endswith(f":user/{USER}"):
        raise RuntimeError(f"{server.name}: GetCallerIdentity answered {reply.status}: "
                           f"{reply.body[:500]!r}")
    return request


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    spec = LoadSpec(args.seconds, args.max_requests, args.connections, args.generator)
    logs = Path(tempfile.mkdtemp(prefix="endpoint-bench-"))
    print("== GetCallerIdentity, SigV4-signed by an IAM user's key, replayed")
    print_machine(spec, args.pin_servers)
    print(f"trailgate: {args.workers} worker process(es) (serve --workers)")
    servers: list[Server] = []
    try:
        scenarios: list[Scenario] = []
        trailgate, process = start_trailgate(workers=args.workers)
        servers.append(trailgate)
        root = (process.root["RootAccessKeyId"], process.root["RootSecretAccessKey"])
        key = create_user_key(trailgate, root)
        scenarios.append(Scenario("trailgate", trailgate, checked_identity_request(trailgate, key)))
        if args.recording_off_too:
            quiet, quiet_process = start_trailgate(
                "trailgate (recording off)", env={"TRAILGATE_TRAIL_RECORDING": "off"}
            )
            servers.append(quiet)
            root = (quiet_process.root["RootAccessKeyId"],
                    quiet_process.root["RootSecretAccessKey"])
            key = create_user_key(quiet, root)
            scenarios.append(
                Scenario(quiet.name, quiet, checked_identity_request(quiet, key))
            )
        moto = None if args.no_moto else start_moto(logs)
        if moto is None and not args.no_moto:
            print("moto_server not found (pip install 'moto[server]'): moto skipped")
        if moto is not None:
            servers.append(moto)
            key = create_user_key(moto, MOTO_SETUP_KEY)
            enable_moto_auth(moto)
            scenarios.append(Scenario("moto (auth on)", moto, checked_identity_request(moto, key)))
        bare = start_bare(logs)
        servers.append(bare)
        # The bare app gets a request of the same size and shape, signed for its own host.
        bare_request = sign_query_call(bare, "sts", GET_CALLER_IDENTITY, *key)
        if send_once(bare, bare_request).status != 200:
            raise RuntimeError("the bare app did not answer 200")
        scenarios.append(Scenario("bare uvicorn app", bare, bare_request))

        if args.pin_servers is not None:
            for server in servers:
                pin_server(server, args.pin_servers)
        measure_rounds(scenarios, spec, args.rounds)
        print_summary(scenarios)
        print()
        by_label = {s.label: s for s in scenarios}
        ours = by_label["trailgate"]
        if "moto (auth on)" in by_label:
            print(ratio_line("trailgate / moto", ours, by_label["moto (auth on)"]))
        print(ratio_line("trailgate / bare uvicorn", ours, by_label["bare uvicorn app"]))
        if "trailgate (recording off)" in by_label:
            print(ratio_line("trailgate / trailgate (recording off)", ours,
                             by_label["trailgate (recording off)"]))
    finally:
        for server in reversed(servers):
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
