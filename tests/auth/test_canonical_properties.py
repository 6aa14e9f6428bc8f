"""Property tests: whatever key or query botocore signs, trailgate rebuilds the same request."""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

from auth_support import botocore_request, credentials, from_botocore, now, resolver
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.utils import percent_encode, percent_encode_sequence
from hypothesis import given, settings
from hypothesis import strategies as st

from trailgate.auth import authenticate
from trailgate.auth.canonical import canonical_query_string

TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)
# Query-string auth parameters are left out: next to an Authorization header they make the
# request use two auth mechanisms, which S3 refuses (tested in test_presigned.py).
_AUTH_PARAMS = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId"}
PARAMS = st.lists(
    st.tuples(
        TEXT.filter(lambda name: name not in _AUTH_PARAMS),
        st.text(st.characters(exclude_categories=("Cs",))),
    ),
    max_size=6,
)


def _s3_url(key: str, params: list[tuple[str, str]]) -> str:
    # The REST serializer's encoding of a greedy key label, then the query as botocore builds it.
    path = "/bucket/" + percent_encode(key, safe="/~")
    query = percent_encode_sequence(params) if params else ""
    return f"http://127.0.0.1:9000{path}" + (f"?{query}" if query else "")


@settings(max_examples=150, deadline=None)
@given(key=TEXT, params=PARAMS)
def test_any_s3_key_and_query_verifies(key: str, params: list[tuple[str, str]]) -> None:
    request = botocore_request("GET", _s3_url(key, params))
    S3SigV4Auth(credentials(), "s3", "us-east-1").add_auth(request)
    authenticate(from_botocore(request), resolver(), now=now(), service_hint="s3")


@settings(max_examples=100, deadline=None)
@given(
    path=st.text(max_size=30).filter(lambda p: "\x00" not in p),
    params=PARAMS,
    body=st.binary(max_size=200),
)
def test_any_other_service_request_verifies(
    path: str, params: list[tuple[str, str]], body: bytes
) -> None:
    # Non-S3 signers normalise the path (dot segments, repeated slashes) and encode it twice.
    query = percent_encode_sequence(params) if params else ""
    url = "http://127.0.0.1:9000/" + percent_encode(path, safe="/~")
    request = botocore_request("POST", url + (f"?{query}" if query else ""), data=body)
    SigV4Auth(credentials(), "sts", "us-east-1").add_auth(request)
    authenticate(from_botocore(request), resolver(), now=now(), service_hint="sts")


@settings(max_examples=200, deadline=None)
@given(params=PARAMS)
def test_canonical_query_matches_botocore(params: list[tuple[str, str]]) -> None:
    signer = SigV4Auth(credentials(), "s3", "us-east-1")
    expected = signer._canonical_query_string_params(params)
    assert canonical_query_string(percent_encode_sequence(params)) == expected


def _reference_canonical(raw: str, exclude: tuple[str, ...]) -> str:
    # The definition, step by step: form-decode every name and value, drop excluded names,
    # encode with AWS's unreserved set, sort by name then value.
    pairs = []
    for segment in filter(None, raw.split("&")):
        name, _, value = segment.partition("=")
        decoded_name = unquote_to_bytes(name.replace("+", " "))
        if decoded_name.decode("utf-8", "replace") in exclude:
            continue
        pairs.append((
            quote(decoded_name, safe=""),
            quote(unquote_to_bytes(value.replace("+", " ")), safe=""),
        ))  # fmt: skip
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


# Raw query strings as clients send them, already-canonical ones included (those take a shortcut
# that must give the same answer): escapes in either case, of reserved and unreserved bytes,
# '+' and '=' inside values, characters that are not ASCII.
RAW_PIECES = st.sampled_from(
    ["a", "Z", "0", "-", ".", "_", "~", "=", "&", "+", "%", "%2F", "%2f", "%41", "%7E", "%7e",
     "%20", "%3D", "%26", "%25", "%ZZ", "é", "X-Amz-Signature", "%2D", "%5F", "%60", "%C3%A9"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(RAW_PIECES, max_size=12))
def test_canonical_query_of_any_raw_query_matches_the_definition(pieces: list[str]) -> None:
    raw = "".join(pieces)
    for exclude in ((), ("X-Amz-Signature",)):
        assert canonical_query_string(raw, exclude=exclude) == _reference_canonical(raw, exclude)
