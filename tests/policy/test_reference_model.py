"""The compiled engine against a naive reference evaluator, on generated policies and requests.

The reference below interprets the JSON documents directly, written from docs/policy-semantics.md
(not from the engine's code): character-by-character glob matching on token lists, ARN fields
split by hand, conditions evaluated from the operator name each time, the decision steps in
plain if-statements. It catches disagreements between the fast paths (literal / prefix /
regex classification, per-action statement caches, closures) and the rules.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trailgate.policy import (
    AuthzRequest,
    MalformedPolicyDocument,
    PolicyKind,
    PolicySet,
    PrincipalInfo,
    compile_policy,
    evaluate,
)

A, B = "111111111111", "222222222222"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{B}:user/bob"
ROLE_R = f"arn:aws:iam::{A}:role/R"
SESSION = f"arn:aws:sts::{A}:assumed-role/R/s1"
FED = f"arn:aws:sts::{A}:federated-user/fed"
ROOT_A = f"arn:aws:iam::{A}:root"
SERVICE = "cloudtrail.amazonaws.com"

# -- the reference ---------------------------------------------------------------------------------


def tokens(text: str, version: str, context: dict[str, Any]) -> list[tuple[str, bool]] | None:
    """(character, is-wildcard-capable) list after variable substitution; None = unresolvable."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        if version == "2012-10-17" and text.startswith("${", i) and "}" in text[i:]:
            end = text.index("}", i)
            inner = text[i + 2:end]
            if inner in ("*", "?", "$"):
                out.append((inner, False))
                i = end + 1
                continue
            m = re.fullmatch(r"\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?", inner)
            if m:
                value = context.get(m.group(1).lower())
                if not isinstance(value, str):
                    if m.group(2) is None:
                        return None
                    value = m.group(2)
                out.extend((ch, False) for ch in value)
                i = end + 1
                continue
        out.append((text[i], True))
        i += 1
    return out


def glob(pattern: list[tuple[str, bool]], text: str) -> bool:
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[i, j]
        if i == len(pattern):
            result = j == len(text)
        else:
            ch, wild = pattern[i]
            if wild and ch == "*":
                result = go(i + 1, j) or (j < len(text) and go(i, j + 1))
            elif wild and ch == "?":
                result = j < len(text) and go(i + 1, j + 1)
            else:
                result = j < len(text) and text[j] == ch and go(i + 1, j + 1)
        memo[i, j] = result
        return result

    return go(0, 0)


def arn_match(pattern: list[tuple[str, bool]], value: str) -> bool:
    if pattern == [("*", True)]:
        return True
    fields: list[list[tuple[str, bool]]] = [[]]
    for ch, wild in pattern:
        if ch == ":" and wild and len(fields) < 6:
            fields.append([])
        else:
            fields[-1].append((ch, wild))
    if len(fields) < 6:
        return glob(pattern, value)
    if any(ch == ":" for field in fields[:5] for ch, _ in field):
        return False
    parts = value.split(":", 5)
    return len(parts) == 6 and all(glob(f, p) for f, p in zip(fields, parts, strict=True))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def number(text: str) -> Decimal | None:
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def date(text: str) -> float | None:
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def one_value_matches(family: str, op: str, request: str, policy_values: list[Any],
                      version: str, context: dict[str, Any]) -> bool | None:
    """Whether the request value matches any policy value (positive form); None when a policy
    variable cannot be resolved."""
    for raw in policy_values:
        pv = text_of(raw)
        if family in ("string", "arn", "bool"):
            toks = tokens(pv, version, context)
            if toks is None:
                return None
            if family == "arn":
                hit = arn_match(toks, request)
            elif "like" in op:
                hit = glob(toks, request)
            elif "ignorecase" in op or family == "bool":
                hit = "".join(c for c, _ in toks).lower() == request.lower()
            else:
                hit = "".join(c for c, _ in toks) == request
        elif family == "numeric":
            a, b = number(request), number(pv)
            hit = a is not None and b is not None and _compare(op, a, b)
        elif family == "date":
            a, b = date(request), date(pv)
            hit = a is not None and b is not None and _compare(op, a, b)
        else:  # ip
            try:
                net = ipaddress.ip_network(pv, strict=False)
                addr = ipaddress.ip_address(request)
            except ValueError:
                hit = False
            else:
                hit = addr.version == net.version and addr in net
        if hit:
            return True
    return False


def _compare(op: str, a: Any, b: Any) -> bool:
    if op.endswith("lessthanequals"):
        return a <= b
    if op.endswith("lessthan"):
        return a < b
    if op.endswith("greaterthanequals"):
        return a >= b
    if op.endswith("greaterthan"):
        return a > b
    return a == b


def condition_holds(op_name: str, key: str, values: Any, context: dict[str, Any],
                    version: str) -> bool | None:
    op = op_name.lower()
    qualifier = None
    for q in ("forallvalues:", "foranyvalue:"):
        if op.startswith(q):
            qualifier, op = q, op[len(q):]
    value = context.get(key.lower())
    present = value is not None and value != []
    if op == "null":
        return any((text_of(v).lower() == "true") != present for v in as_list(values))
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    negated = "not" in op
    family = ("string" if op.startswith("string") else "numeric" if op.startswith("numeric")
              else "date" if op.startswith("date") else "bool" if op == "bool"
              else "ip" if op.endswith("ipaddress") else "arn")
    # Variables make the statement invalid when unresolvable, even if never compared.
    if family in ("string", "arn", "bool"):
        for v in as_list(values):
            if tokens(text_of(v), version, context) is None:
                return None
    if not present:
        if if_exists or qualifier == "forallvalues:":
            return True
        if qualifier == "foranyvalue:":
            return False
        return negated
    request_values = [text_of(v) for v in as_list(value)]
    single = []
    for r in request_values:
        hit = one_value_matches(family, op, r, as_list(values), version, context)
        single.append(hit)
    if qualifier is None:
        return any(single) != negated
    per_value = [hit != negated for hit in single]
    return all(per_value) if qualifier == "forallvalues:" else any(per_value)


def principal_strength(element: Any, who: PrincipalInfo) -> int:
    entries = [("AWS", "*")] if element == "*" else [
        (k, v) for k, vs in element.items() for v in as_list(vs)]
    best = 0
    for kind, name in entries:
        s = 0
        if kind == "AWS" and name == "*":
            s = 3
        elif kind == "AWS":
            account = name if re.fullmatch(r"\d{12}", name) else (
                name.split(":")[4] if name.endswith(":root") else None)
            # A role ARN given as the principal stands for its sessions: it is named as a
            # role, never as a session.
            if who.type == "AssumedRole" and name == who.role_arn:
                s = 2
            elif name == who.arn and who.type in ("IAMUser", "AssumedRole", "FederatedUser"):
                s = 3
            elif account is not None and account == who.account:
                s = 3 if who.type == "Root" else 1
        elif kind == "Service" and who.type == "AWSService" and name.lower() == who.service:
            s = 3
        best = max(best, s)
    return best


def not_principal_excludes(element: Any, who: PrincipalInfo) -> bool:
    names = {v for vs in element.values() for v in as_list(vs)} if element != "*" else {"*"}
    if "*" in names:
        return True
    account_listed = who.account in names or f"arn:aws:iam::{who.account}:root" in names
    if who.type == "Root":
        return account_listed
    if who.type == "IAMUser":
        return account_listed and who.arn in names
    if who.type == "AssumedRole":
        return account_listed and who.arn in names and who.role_arn in names
    if who.type == "FederatedUser":
        return account_listed and who.arn in names
    if who.type == "AWSService":
        return who.service in {v for v in as_list(element.get("Service", []))}
    return False


def statement_applies(st_: dict[str, Any], version: str, who: PrincipalInfo, action: str,
                      resource: str, context: dict[str, Any], has_boundary: bool) -> int:
    """0 when the statement does not apply, else the principal strength (3 without one)."""
    if "Action" in st_:
        if not any(glob([(c, True) for c in p.lower()], action.lower())
                   for p in as_list(st_["Action"])):
            return 0
    elif any(glob([(c, True) for c in p.lower()], action.lower())
             for p in as_list(st_["NotAction"])):
        return 0
    strength = 3
    if "Principal" in st_:
        strength = principal_strength(st_["Principal"], who)
        if not strength:
            return 0
    elif "NotPrincipal" in st_ and not (st_["Effect"] == "Deny" and has_boundary) and \
            not_principal_excludes(st_["NotPrincipal"], who):
        return 0
    for name in ("Resource", "NotResource"):
        if name in st_:
            hits = []
            for p in as_list(st_[name]):
                toks = tokens(p, version, context)
                if toks is None:
                    return 0
                hits.append(arn_match(toks, resource))
            if any(hits) != (name == "Resource"):
                return 0
    results = []
    for op, entries in st_.get("Condition", {}).items():
        for key, values in entries.items():
            results.append(condition_holds(op, key, values, context, version))
    if any(r is None for r in results) or not all(results):
        return 0
    return strength


def scan(docs: list[dict[str, Any]], who: PrincipalInfo, action: str, resource: str,
         context: dict[str, Any], has_boundary: bool) -> tuple[bool, int]:
    denied, best = False, 0
    for d in docs:
        version = d.get("Version", "2008-10-17")
        for st_ in as_list(d["Statement"]):
            s = statement_applies(st_, version, who, action, resource, context, has_boundary)
            if s and st_["Effect"] == "Deny":
                denied = True
            elif s:
                best = max(best, s)
    return denied, best


def reference_decision(case: dict[str, Any]) -> str:
    who = PrincipalInfo.from_arn(case["principal"])
    action, resource = case["action"], case["resource"]
    context = {k.lower(): v for k, v in case["context"].items()}
    account_type = who.type in ("Root", "IAMUser", "AssumedRole", "FederatedUser")
    can_have_boundary = who.type in ("IAMUser", "AssumedRole", "FederatedUser")
    has_boundary = bool(case["boundaries"]) and can_have_boundary
    trust = case["trust"]
    explicit = False
    scp_ok = True
    if account_type:
        for level in case["scps"]:
            d, s = scan(level, who, action, resource, context, has_boundary)
            explicit |= d
            scp_ok &= s > 0
    d, res = scan([case["resource_policy"]] if case["resource_policy"] else [], who, action,
                  resource, context, has_boundary)
    explicit |= d
    ident = False
    if account_type:
        d, s = scan(case["identity"], who, action, resource, context, has_boundary)
        explicit |= d
        ident = s > 0
    bound = True
    if has_boundary:
        d, s = scan(case["boundaries"], who, action, resource, context, has_boundary)
        explicit |= d
        bound = s > 0
    sess = True
    if who.type in ("AssumedRole", "FederatedUser"):
        if case["session"]:
            d, s = scan(case["session"], who, action, resource, context, has_boundary)
            explicit |= d
            sess = s > 0
        else:
            sess = who.type == "AssumedRole"
    if explicit:
        return "ExplicitlyDenied"
    if not scp_ok:
        return "ImplicitlyDenied"
    if not account_type:
        return "Allowed" if res else "ImplicitlyDenied"
    same = case["resource_account"] is None or case["resource_account"] == who.account
    if who.type == "Root":
        if same and not trust:
            return "Allowed"
        return "Allowed" if res else "ImplicitlyDenied"
    if same:
        if res == 3 or (res == 2 and bound and sess):
            return "Allowed"
        if ident and bound and sess and (not trust or res >= 1):
            return "Allowed"
        return "ImplicitlyDenied"
    return "Allowed" if ident and bound and sess and res else "ImplicitlyDenied"


# -- generated cases -------------------------------------------------------------------------------

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "iam:GetUser"]
ACTION_PATTERNS = ["*", "s3:*", "s3:Get*", "s3:GetObject", "S3:getobject", "s3:?etObject",
                   "iam:*", "s3:*Object", "s3:List*"]
RESOURCES = ["arn:aws:s3:::b", "arn:aws:s3:::b/k", "arn:aws:s3:::b/a:b", "arn:aws:s3:::c/k",
             "arn:aws:s3:::b/alice/x", "arn:aws:s3:::b/*", "*"]
S3_PATTERNS = ["arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::*", "arn:aws:s3:::?/k",
               "arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${aws:username, 'k'}",
               "arn:aws:s3:::b/${*}", "arn:aws:s3:::b/a:*", "arn:aws:s3:::b*"]
IDENTITY_PATTERNS = ["*", *S3_PATTERNS]
PRINCIPAL_ELEMENTS = ["*", {"AWS": "*"}, {"AWS": A}, {"AWS": f"arn:aws:iam::{B}:root"},
                      {"AWS": ALICE}, {"AWS": ROLE_R}, {"AWS": SESSION}, {"AWS": FED},
                      {"AWS": [ALICE, ROOT_A]}, {"AWS": [SESSION, ROLE_R, ROOT_A]},
                      {"Service": SERVICE}]
PRINCIPALS = [ALICE, BOB, SESSION, ROOT_A, "anonymous", SERVICE, FED, ROLE_R]

CONDITIONS = st.sampled_from([
    ("StringEquals", "aws:username", "alice"),
    ("StringNotEquals", "aws:username", ["alice", "bob"]),
    ("StringLike", "s3:prefix", ["home/${aws:username}/*", "public/*"]),
    ("StringNotLike", "s3:prefix", "secret*"),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/Team", "RED"),
    ("StringEqualsIfExists", "aws:PrincipalTag/team", "red"),
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "2001:db8::/32"]),
    ("NotIpAddress", "aws:SourceIp", "10.1.0.0/16"),
    ("NumericLessThan", "s3:max-keys", "10"),
    ("NumericGreaterThanEquals", "s3:max-keys", 5),
    ("DateLessThan", "aws:CurrentTime", "2025-01-01T00:00:00Z"),
    ("DateGreaterThan", "aws:CurrentTime", 1577836800),
    ("Bool", "aws:SecureTransport", "true"),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false"),
    ("Null", "aws:TokenIssueTime", "true"),
    ("Null", "s3:prefix", "false"),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"]),
    ("ForAnyValue:StringEquals", "aws:TagKeys", "a"),
    ("ForAllValues:StringNotLike", "aws:TagKeys", "x*"),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"]),
    ("StringEquals", "aws:TagKeys", "a"),
    ("ArnLike", "aws:SourceArn", f"arn:aws:cloudtrail:*:{A}:trail/*"),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:cloudtrail:us-east-1:*:trail/t"),
])

CONTEXT_VALUES = {
    "aws:username": st.sampled_from(["alice", "bob", "Alice"]),
    "s3:prefix": st.sampled_from(["home/alice/x", "home/bob/", "public/a", "secret/b", ""]),
    "aws:PrincipalTag/team": st.sampled_from(["red", "Red", "blue"]),
    "aws:SourceIp": st.sampled_from(["10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::5",
                                     "garbage"]),
    "s3:max-keys": st.sampled_from(["3", "5", "10", "10.0", "x"]),
    "aws:CurrentTime": st.sampled_from(["2024-05-01T10:00:00Z", "2019-01-01T00:00:00Z",
                                        "2026-01-01", "1700000000"]),
    "aws:SecureTransport": st.sampled_from([True, False, "true"]),
    "aws:MultiFactorAuthPresent": st.sampled_from(["true", "false"]),
    "aws:TokenIssueTime": st.just("2024-05-01T00:00:00Z"),
    "aws:TagKeys": st.sampled_from([["a"], ["a", "b"], ["a", "c"], ["x1"], [], "a"]),
    "aws:SourceArn": st.sampled_from([f"arn:aws:cloudtrail:us-east-1:{A}:trail/t",
                                      f"arn:aws:cloudtrail:eu-west-1:{B}:trail/t",
                                      "arn:aws:s3:::b"]),
}


@st.composite
def statement(draw: st.DrawFn, resource_kind: str) -> dict[str, Any]:
    st_: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    action_patterns = ACTION_PATTERNS if resource_kind == "identity" else [
        a for a in ACTION_PATTERNS if not a.startswith("iam:")]
    actions = draw(st.lists(st.sampled_from(action_patterns), min_size=1, max_size=2))
    st_["NotAction" if draw(st.integers(0, 6)) == 0 else "Action"] = actions
    patterns = S3_PATTERNS if resource_kind == "resource" else IDENTITY_PATTERNS
    resources = draw(st.lists(st.sampled_from(patterns), min_size=1, max_size=2))
    st_["NotResource" if draw(st.integers(0, 6)) == 0 else "Resource"] = resources
    if resource_kind == "resource":
        principal = draw(st.sampled_from(PRINCIPAL_ELEMENTS))
        if st_["Effect"] == "Deny" and draw(st.integers(0, 3)) == 0 and principal != "*":
            st_["NotPrincipal"] = principal
        else:
            st_["Principal"] = principal
    conditions: dict[str, dict[str, Any]] = {}
    chosen = draw(st.lists(CONDITIONS, max_size=2)) if draw(st.booleans()) else []
    for op, key, values in chosen:
        conditions.setdefault(op, {})[key] = values
    if conditions:
        st_["Condition"] = conditions
    return st_


@st.composite
def document(draw: st.DrawFn, resource_kind: str = "identity") -> dict[str, Any]:
    statements = draw(st.lists(statement(resource_kind), min_size=1, max_size=3))
    version = draw(st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"]))
    return {"Version": version, "Statement": statements}


@st.composite
def case(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(CONTEXT_VALUES)), unique=True, max_size=5))
    return {
        "principal": draw(st.sampled_from(PRINCIPALS)),
        "action": draw(st.sampled_from(ACTIONS)),
        "resource": draw(st.sampled_from(RESOURCES)),
        "resource_account": draw(st.sampled_from([None, A, B])),
        "context": {key: draw(CONTEXT_VALUES[key]) for key in keys},
        "identity": draw(st.lists(document(), min_size=draw(st.integers(0, 1)), max_size=2)),
        "resource_policy": draw(st.one_of(st.none(), document("resource"))),
        "boundaries": draw(st.lists(document(), max_size=1)),
        "session": draw(st.lists(document(), max_size=1)),
        "scps": draw(st.lists(st.lists(document(), min_size=1, max_size=2), max_size=2)),
        "trust": False,
    }


def engine_decision(c: dict[str, Any]) -> str:
    def compiled(docs: list[dict[str, Any]], kind: PolicyKind) -> list[Any]:
        return [compile_policy(d, kind, f"{kind.value}-{i}") for i, d in enumerate(docs)]

    try:
        scp_docs = [[{**d, "Version": "2012-10-17"} for d in level] for level in c["scps"]]
        c["scps"] = scp_docs
        policies = PolicySet(
            compiled(c["identity"], PolicyKind.IDENTITY),
            compile_policy(c["resource_policy"], PolicyKind.RESOURCE, "bucket")
            if c["resource_policy"] else None,
            compiled(c["boundaries"], PolicyKind.BOUNDARY),
            compiled(c["session"], PolicyKind.SESSION),
            [compiled(level, PolicyKind.SCP) for level in scp_docs],
            c["trust"],
        )
    except MalformedPolicyDocument:
        assume(False)
        raise
    request = AuthzRequest(PrincipalInfo.from_arn(c["principal"]), c["action"], c["resource"],
                           c["resource_account"], c["context"])
    return evaluate(request, policies).decision.value


# TRAILGATE_MODEL_EXAMPLES raises the count for a longer hunt (e.g. 20000).
EXAMPLES = int(os.environ.get("TRAILGATE_MODEL_EXAMPLES", "700"))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case())
def test_engine_agrees_with_the_reference(c: dict[str, Any]) -> None:
    got = engine_decision(c)
    assert got == reference_decision(c), c


TRUST_PRINCIPALS = [{"AWS": ROOT_A}, {"AWS": A}, {"AWS": f"arn:aws:iam::{B}:root"},
                    {"AWS": ALICE}, {"AWS": BOB}, {"AWS": ROLE_R}, {"AWS": SESSION},
                    {"Service": SERVICE}, "*"]


@st.composite
def trust_case(draw: st.DrawFn) -> dict[str, Any]:
    statements = []
    for _ in range(draw(st.integers(1, 2))):
        st_: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
                               "Principal": draw(st.sampled_from(TRUST_PRINCIPALS)),
                               "Action": "sts:AssumeRole"}
        if draw(st.booleans()):
            st_["Condition"] = {"StringEquals": {"sts:ExternalId": "ext"}}
        statements.append(st_)
    identity_docs = draw(st.lists(st.sampled_from([
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Resource": f"arn:aws:iam::{A}:role/*"}]},
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
    ]), max_size=1))
    return {
        "principal": draw(st.sampled_from(PRINCIPALS)),
        "action": "sts:AssumeRole",
        "resource": f"arn:aws:iam::{A}:role/Target",
        "resource_account": A,
        "context": draw(st.fixed_dictionaries({}, optional={
            "sts:ExternalId": st.sampled_from(["ext", "other"]),
            "aws:SecureTransport": st.booleans()})),
        "identity": identity_docs,
        "resource_policy": {"Version": "2012-10-17", "Statement": statements},
        "boundaries": [], "session": [], "scps": [], "trust": True,
    }


@settings(max_examples=max(EXAMPLES // 3, 100), deadline=None)
@given(trust_case())
def test_trust_policies_agree_with_the_reference(c: dict[str, Any]) -> None:
    trust_doc = c["resource_policy"]
    request = AuthzRequest(PrincipalInfo.from_arn(c["principal"]), c["action"], c["resource"],
                           c["resource_account"], c["context"])
    policies = PolicySet(
        [compile_policy(d, PolicyKind.IDENTITY, "id") for d in c["identity"]],
        compile_policy(trust_doc, PolicyKind.TRUST, "trust"), resource_is_trust_policy=True)
    assert evaluate(request, policies).decision.value == reference_decision(c), c
