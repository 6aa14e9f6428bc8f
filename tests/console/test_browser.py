"""The seed's console steps end to end in a real browser (Playwright driving Debian's Chromium)
against a real server holding the seed's world: sign in as A's administrator, open IAM, choose
a user, add the seed's sts:AssumeRole policy in the editor on its Permissions tab, read a Role
ARN in a role's Summary, create a role for another account with an external ID, browse the log
bucket down to a delivered log file and download it, look events up in the event history, check
the trails. Every page's form controls must have labels; the sign-in form is reachable and
usable with the keyboard alone. Screenshots go to test-artifacts/console/.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import ADMIN_POLICY, PASSWORD, make_console_user, root_client

from trailgate.demo import policies
from trailgate.demo.world import Creds, World, build
from trailgate.testing.server import ServerProcess

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
FAST = ["--trail-delivery-interval", "1", "--digest-interval", "2", "--test-clock"]

# In CI the walk-through must run: a missing browser is a failure there, not a skip.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed",
    ),
]

UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button'))
  .filter(el => {
    if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
    return !((el.labels && el.labels.length) || el.getAttribute('aria-label')
             || el.getAttribute('aria-labelledby'));
  })
  .map(el => el.outerHTML)"""


def _wait_for(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.3)


@pytest.fixture
def seed(server_factory: Any) -> tuple[ServerProcess, World]:
    server: ServerProcess = server_factory(extra_args=FAST)
    root = server.root
    world = build(
        server.endpoint,
        Creds(root["RootAccessKeyId"], root["RootSecretAccessKey"]),
        server.management_account_id,
        server.create_account,
    )
    make_console_user(server, "admin", policy_arns=(ADMIN_POLICY,))
    s3 = root_client(server, "s3")

    def delivered() -> list[str]:
        listed = s3.list_objects_v2(Bucket=world.bucket, Prefix=f"AWSLogs/{world.a}/CloudTrail/")
        return [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".json.gz")]

    _wait_for(delivered)
    return server, world


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            context.close()


class Steps:
    """The browser plus the checks made on every page it reaches."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.number = 0

    def shot(self, name: str) -> None:
        self.number += 1
        unlabelled = self.page.evaluate(UNLABELLED)
        assert unlabelled == [], f"controls without a label on {self.page.url}: {unlabelled}"
        self.page.screenshot(path=str(ARTIFACTS / f"{self.number:02d}-{name}.png"), full_page=True)


def _tab_order(page: Any, count: int) -> list[str]:
    order = []
    for _ in range(count):
        page.keyboard.press("Tab")
        order.append(page.evaluate(
            "() => document.activeElement.id || document.activeElement.type"
            " || document.activeElement.tagName"))
    return order


def test_seed_console_steps(seed: tuple[ServerProcess, World], browser_page: Any) -> None:
    server, world = seed
    page = browser_page
    steps = Steps(page)
    expect = sync_api.expect
    base = server.endpoint
    nav = page.get_by_role("navigation", name="Services")

    # Sign in with the keyboard only, as A's administrator.
    page.goto(f"{base}/console")
    expect(page.get_by_role("heading", name="Sign in as an IAM user")).to_be_visible()
    steps.shot("signin")
    # The account field has the focus on arrival; from the page's first element (the skip
    # link) Tab reaches the form's fields and its button in reading order.
    assert page.evaluate("() => document.activeElement.id") == "account"
    page.locator(".skip-link").focus()
    order = _tab_order(page, 6)
    positions = [order.index(name) for name in ("account", "username", "password", "submit")]
    assert positions == sorted(positions), order
    page.locator(".skip-link").focus()
    while page.evaluate("() => document.activeElement.id") != "account":
        page.keyboard.press("Tab")
    page.keyboard.type(world.a)
    page.keyboard.press("Tab")
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Console home")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"arn:aws:iam::{world.a}:user/admin")
    steps.shot("home")

    # IAM: create a user to hold the seed's policy, then its Permissions tab.
    nav.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("link", name="admin", exact=True)).to_be_visible()
    steps.shot("users")
    page.get_by_role("link", name="Create user").click()
    page.get_by_label("User name").fill("log-auditor")
    steps.shot("create-user")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#user-arn")).to_have_text(f"arn:aws:iam::{world.a}:user/log-auditor")
    nav.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="log-auditor").click()
    page.get_by_role("link", name="Permissions", exact=True).click()
    expect(page.get_by_role("heading", name="Permissions policies")).to_be_visible()
    steps.shot("permissions-tab")

    # The editor: a syntax error is located; then the seed's sts:AssumeRole policy is saved.
    page.get_by_role("link", name="Create inline policy").click()
    page.get_by_label("Policy name").fill("AssumeLogReaderB")
    editor = page.get_by_label("Policy document (JSON, identity-based policy)")
    editor.fill('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}')
    page.get_by_role("button", name="Check policy").click()
    problems = page.locator("#policy-problems")
    expect(problems).to_contain_text("Syntax errors in policy.")
    expect(problems).to_contain_text("line 4, column 24")
    steps.shot("editor-syntax-error")
    seed_policy = json.dumps(json.loads(policies.allow_assume(world.roles["B"])), indent=2)
    page.get_by_label("Policy document (JSON, identity-based policy)").fill(seed_policy)
    page.get_by_role("button", name="Check policy").click()
    expect(page.locator("#policy-valid")).to_be_visible()
    steps.shot("editor-valid")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("The policy was saved.")
    expect(page.get_by_role("link", name="AssumeLogReaderB")).to_be_visible()
    steps.shot("policy-saved")
    stored = root_client(server, "iam").get_user_policy(
        UserName="log-auditor", PolicyName="AssumeLogReaderB")["PolicyDocument"]
    assert stored == json.loads(seed_policy)

    # Roles: the Role ARN in the Summary.
    nav.get_by_role("link", name="Roles", exact=True).click()
    page.get_by_role("link", name="CloudTrailLogReaderB").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    assert page.locator("#role-arn").inner_text() == world.roles["B"]
    steps.shot("role-summary")
    page.get_by_role("link", name="Trust relationships").click()
    expect(page.locator("main")).to_contain_text(f"arn:aws:iam::{world.b}:root")
    steps.shot("role-trust")

    # Create a role for another account (Z) that requires an external ID.
    nav.get_by_role("link", name="Roles", exact=True).click()
    page.get_by_role("link", name="Create role").click()
    page.get_by_label("Another AWS account").check()
    page.get_by_label("Account ID").fill(world.z)
    page.get_by_label("Require external ID").check()
    page.get_by_label("External ID", exact=True).fill("z-console-5d2e")
    page.get_by_label("Role name").fill("CloudTrailLogReaderZConsole")
    page.get_by_label("Description (optional)").fill("Z reads every log, with an external ID")
    steps.shot("create-role")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("status")).to_contain_text("The role was created.")
    arn = f"arn:aws:iam::{world.a}:role/CloudTrailLogReaderZConsole"
    expect(page.locator("#role-arn")).to_have_text(arn)
    page.get_by_role("link", name="Trust relationships").click()
    expect(page.locator("#trust-policy")).to_contain_text('"sts:ExternalId": "z-console-5d2e"')
    steps.shot("created-role-trust")
    trust = root_client(server, "iam").get_role(RoleName="CloudTrailLogReaderZConsole")["Role"]
    assert trust["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": "z-console-5d2e"}}

    # S3: browse the log bucket down to a delivered log file, and download it.
    nav.get_by_role("link", name="S3", exact=True).click()
    page.get_by_role("link", name=world.bucket).click()
    steps.shot("log-bucket")
    for folder in ("AWSLogs/", f"{world.a}/", "CloudTrail/", "us-east-1/"):
        page.locator("#objects").get_by_role("link", name=folder, exact=True).click()
    while page.locator("#objects td:nth-child(2)", has_text="Folder").count():
        page.locator("#objects a").first.click()
    steps.shot("log-files")
    page.locator("#objects a").first.click()
    expect(page.get_by_role("heading", name="Object overview")).to_be_visible()
    steps.shot("log-file-details")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    records = json.loads(gzip.decompress(Path(download.path()).read_bytes()))["Records"]
    assert records and all(r["recipientAccountId"] == world.a for r in records)

    # CloudTrail: the event history finds the role just created, with its JSON.
    nav.get_by_role("link", name="Event history").click()
    page.get_by_label("Lookup attribute").select_option("EventName")
    page.get_by_label("Value").fill("CreateRole")
    page.get_by_role("button", name="Look up").click()
    rows = page.locator("#events tbody tr")
    expect(rows.first).to_contain_text("CreateRole")
    console_row = rows.filter(has_text="admin").first
    console_row.locator("summary").click()
    expect(console_row.locator("pre")).to_contain_text('"roleName": "CloudTrailLogReaderZConsole"')
    steps.shot("event-history")
    console_row.get_by_role("link", name="CreateRole").click()
    expect(page.locator("#event-json")).to_contain_text('"eventSource": "iam.amazonaws.com"')
    steps.shot("event")
    nav.get_by_role("link", name="Trails").click()
    trails = page.locator("#trails")
    expect(trails).to_contain_text("seed-trail")
    expect(trails).to_contain_text("Logging")
    assert "None yet" not in trails.locator("tbody tr").first.inner_text()
    steps.shot("trails")

    # The simulator: log-auditor may assume B's reader role, not C's.
    nav.get_by_role("link", name="Policy simulator").click()
    page.get_by_label("User or role ARN").fill(f"arn:aws:iam::{world.a}:user/log-auditor")
    page.get_by_label("Actions (one per line, e.g. s3:GetObject)").fill("sts:AssumeRole")
    page.get_by_label("Resource ARNs (one per line; * for any)").fill(
        f"{world.roles['B']}\n{world.roles['C']}")
    page.get_by_role("button", name="Run simulation").click()
    results = page.locator("#sim-results tbody tr")
    expect(results.nth(0)).to_contain_text("allowed")
    expect(results.nth(1)).to_contain_text("implicitDeny")
    steps.shot("simulator")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in as an IAM user")).to_be_visible()
    page.goto(f"{base}/console/iam/users")
    expect(page).to_have_url(f"{base}/console/signin?next=%2Fconsole%2Fiam%2Fusers")
