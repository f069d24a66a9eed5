"""The whole product in a real Chromium: the service (API + chat on one port) started as `compass serve` would,
on a fresh SQLite database, driven like a user: log in, describe a use case, answer a question with a button,
change an SLO in the settings, read the table and chart, deploy locally with the approval button, probe it, see the
dashboard, reload and resume the thread from the sidebar with everything still there, delete the deployment.

Screenshots of every step go to docs/screenshots/ (COMPASS_SCREENSHOTS_DIR overrides) and the page-load figure to
docs/ui-performance.md. Needs /usr/bin/chromium (`apt-get install -y chromium`); skipped without it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("COMPASS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # offline: no CDN may be needed (keeps the cache)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("COMPASS_SCREENSHOTS_DIR", REPO_ROOT / "docs" / "screenshots"))
PERFORMANCE_DOC = REPO_ROOT / "docs" / "ui-performance.md"
GREETING = "Hi, I'm Compass"
TURN_S = 60_000  # ms Playwright waits for a turn (a cold capacity plan takes a few seconds)
LOAD_BUDGET_MS = float(os.environ.get("COMPASS_UI_LOAD_BUDGET_MS", "1000"))  # slower CI runners may raise it
WARM_UP, LOADS = 3, 9
SHOTS: list[tuple[str, str]] = []  # screenshots of the tests so far, in order, for ui/README.md


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = f"no Chromium at {CHROMIUM} or on PATH: `apt-get install -y chromium` (or set COMPASS_CHROMIUM)"
        if os.environ.get("COMPASS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)  # CI must run the browser test, never skip it
        pytest.skip(message)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]
    timings: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    _chromium()
    data_dir = tmp_path_factory.mktemp("compass-ui")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPASS_", "CHAINLIT_"))}
    env.update(
        COMPASS_DATA_DIR=str(data_dir),
        COMPASS_DEPLOY_STATE_DIR=str(data_dir / "deployments"),
        COMPASS_UI_USERS="alice:secret,bob:pw",
    )
    log = data_dir / "service.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "agent.api.app:create_app", "--factory", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service did not start in 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Service(url, data_dir, log, process, {"startup_s": time.monotonic() - started})
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        _stop_simulators(data_dir)


def _stop_simulators(data_dir: Path) -> None:
    from kb.db import Database
    from tools.deploy import local
    from tools.deploy.service import DeploymentService

    database = Database(f"sqlite:///{data_dir / 'compass.db'}")
    try:
        for record in DeploymentService(database).list_deployments():
            if record.target == "local":
                local.stop(record.pid)
    finally:
        database.dispose()


class Chat:
    """One browser page on the chat, with the few gestures a user makes."""

    def __init__(self, page: Page, service: Service) -> None:
        self.page, self.service = page, service
        self.shots: list[tuple[str, str]] = []

    def shot(self, name: str, caption: str) -> None:
        self.page.wait_for_timeout(400)  # let charts and animations settle
        self.page.screenshot(path=str(SCREENSHOTS / name))
        self.shots.append((name, caption))

    def login(self, user: str, password: str) -> None:
        self.page.goto(f"{self.service.url}/chat/login")
        self.page.get_by_label("Email address").fill(user)
        self.page.get_by_label("Password").fill(password)

    def say(self, text: str) -> None:
        box = self.page.get_by_placeholder("Type your message here...")
        box.fill(text)
        box.press("Enter")

    def command(self, name: str, text: str) -> None:
        """Typing "/name" picks the command (a chip in the composer); the next message carries it."""
        box = self.page.get_by_placeholder("Type your message here...")
        box.fill(f"/{name}")
        box.press("Enter")
        self.say(text)

    def show(self, text: str) -> None:
        """Scroll the newest occurrence of `text` into view (the chat scrolls inside its own panel)."""
        self.page.get_by_text(text).last.scroll_into_view_if_needed()

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True).last


@contextmanager
def _browser(service: Service) -> Iterator[tuple[Browser, Chat]]:
    """Chromium with one logged-out page; on failure, a screenshot next to the service log."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TURN_S)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(TURN_S)
        chat = Chat(context.new_page(), service)
        try:
            yield browser, chat
        except Exception:
            chat.page.screenshot(path=str(service.data_dir / "failure.png"))
            print(f"failure screenshot: {service.data_dir / 'failure.png'}; service log: {service.log}")
            raise
        finally:
            browser.close()


def test_every_page_load_shows_the_first_response(service: Service) -> None:
    """Reloads show the greeting every time; the time each took is recorded in docs/ui-performance.md (a figure
    for `make bench`, not an assertion: timings on a shared machine are no test). The first loads after login warm
    the browser up (V8 caches the compiled bundle), so the figure is the steady state a returning user sees."""
    with _browser(service) as (_, chat):
        page = chat.page
        chat.login("alice", "secret")
        chat.shot("01-login.png", "Login with a user from COMPASS_UI_USERS")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_text(GREETING)).to_be_visible()
        loads = []
        for _ in range(WARM_UP + LOADS):
            page.wait_for_timeout(1000)  # the previous page has settled (its socket closed, its settings sent)
            page.goto(f"{service.url}/chat/")
            page.wait_for_function(f"() => document.body.innerText.includes({GREETING!r})", polling="raf")
            loads.append(float(page.evaluate("performance.now()")))
        page.get_by_placeholder("Type your message here...").wait_for()
        chat.shot("02-greeting.png", "First response after page load")
    SHOTS.extend(chat.shots)
    _write_performance(loads, service.timings["startup_s"])
    assert len(loads) == WARM_UP + LOADS and all(ms > 0 for ms in loads)


def test_a_user_plans_deploys_probes_and_resumes_a_conversation(service: Service) -> None:
    with _browser(service) as (browser, chat):
        _journey(chat)
        other = browser.new_context(viewport={"width": 1400, "height": 1000})
        _another_user_sees_nothing(Chat(other.new_page(), service), chat)
    _write_gallery([*SHOTS, *chat.shots])


def _journey(chat: Chat) -> None:
    page, url = chat.page, chat.service.url
    chat.login("alice", "secret")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text(GREETING)).to_be_visible()

    # 1. Describe a use case; the agent asks for the load, with buttons.
    chat.say("We want an LLM for our customer-support chatbot")
    expect(page.get_by_text("How many people will use it")).to_be_visible()
    expect(chat.button("1,000 users")).to_be_visible()
    chat.shot("03-clarifying-question.png", "A clarifying question answered with a button")

    # 2. Answer with the button: recommendation table, Pareto chart, specification card, tool steps.
    chat.button("1,000 users").click()
    expect(page.get_by_text("Deployment specification")).to_be_visible()
    expect(page.get_by_text("GPU x count").first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.get_by_text("Capacity planner").first).to_be_visible()
    chat.show("GPU x count")
    chat.shot("04-recommendation-table.png", "Recommendations: table with SLO pass/fail, cost, data source")
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    chat.shot("05-pareto-chart.png", "Interactive cost vs p95 TTFT chart, Pareto frontier highlighted")

    # 3. Change an SLO in the settings: the recommendation re-runs.
    page.locator("#chat-settings-open-modal").click()
    ttft = page.get_by_label("p95 time to first token (ms)")
    expect(ttft).to_have_value("150")
    ttft.fill("300")
    chat.shot("06-settings.png", "The specification in the settings panel (p95 TTFT changed to 300 ms)")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Changed in settings: p95 TTFT 300 ms.")).to_be_visible()
    expect(page.get_by_text("TTFT ≤ 300 ms").last).to_be_visible()
    chat.show("Deployment specification")
    chat.shot("07-specification-card.png", "Specification card after the change")

    # 4. Deploy option 1 locally: approval buttons, then the deployment and its first probe.
    page.get_by_role("button", name="Deploy #1").last.click()
    expect(chat.button("Approve and deploy")).to_be_visible()
    chat.shot("08-approval.png", "Deployment approval (a graph interrupt) as buttons")
    chat.button("Approve and deploy").click()
    expect(page.get_by_text("measured:").last).to_be_visible()
    chat.show("measured:")
    chat.shot("09-deployed.png", "Deployed to the local target, with measured latency")

    # 5. Probe it with a test prompt.
    chat.button("Probe it").click()
    expect(page.get_by_text("Type a test prompt")).to_be_visible()
    chat.say("Summarise what a load balancer does.")
    expect(page.get_by_text("Probe of").last).to_be_visible()
    chat.show("Probe of")
    chat.shot("10-probe.png", "Probe: measured vs predicted p95")

    # 6. The dashboard.
    chat.command("deployments", "show my deployments")
    expect(page.get_by_text("Your deployments (1)")).to_be_visible()
    expect(page.get_by_text("● running").last).to_be_visible()
    chat.show("Your deployments (1)")
    chat.shot("11-dashboard.png", "Deployment dashboard: status, endpoint, predicted vs probed latency")

    # 7. Reload and resume the thread from the sidebar: messages, table, chart and graph state are back.
    page.goto(f"{url}/chat/")
    expect(page.get_by_text(GREETING)).to_be_visible()
    page.locator("#thread-history").get_by_text("We want an LLM for our customer-support chatbot").click()
    expect(page.get_by_text("Deployment specification").first).to_be_visible()
    expect(page.get_by_text("GPU x count").first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.get_by_text("Your deployments (1)")).to_be_visible()
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    chat.shot("12-resumed.png", "Reloaded and resumed from the sidebar: messages, charts and cards are back")
    chat.say("why this one?")
    expect(page.get_by_text("Score").last).to_be_visible()
    chat.show("Score")
    chat.shot("13-resumed-graph-state.png", "The resumed thread continues from the same graph state")

    # 8. Delete the deployment from the dashboard, confirming it.
    chat.command("deployments", "list them again")
    expect(page.get_by_text("Your deployments (1)").last).to_be_visible()
    chat.button("Delete").click()
    expect(page.get_by_text("Its endpoint stops answering")).to_be_visible()
    chat.button("Delete").click()
    expect(page.get_by_text("Deleted ").last).to_be_visible()

    # 9. A question left open survives a reload: the resumed thread asks it again, with its buttons.
    page.goto(f"{url}/chat/")
    expect(page.get_by_text(GREETING)).to_be_visible()  # connected: a message typed before would be lost
    chat.say("We need an LLM for our team")
    expect(chat.button("code completion")).to_be_visible()
    page.goto(f"{url}/chat/")
    page.locator("#thread-history").get_by_text("We need an LLM for our team").click()
    expect(page.get_by_text("Still waiting for your answer:")).to_be_visible()
    chat.button("code completion").click()
    expect(page.get_by_text("How many people will use it").last).to_be_visible()


def _another_user_sees_nothing(bob: Chat, alice: Chat) -> None:
    bob.login("bob", "pw")
    bob.page.get_by_role("button", name="Sign In").click()
    expect(bob.page.get_by_text(GREETING)).to_be_visible()
    expect(bob.page.get_by_text("No threads found")).to_be_visible()
    bob.shot("14-other-user.png", "Another user: no access to alice's threads")
    alice.shots.extend(bob.shots)


def _write_performance(loads: list[float], startup_s: float) -> None:
    steady = loads[WARM_UP:]
    load_1m = os.getloadavg()[0]
    rows = "\n".join(
        f"| {i} | {ms:,.0f} ms | {'warm-up' if i <= WARM_UP else 'measured'} |" for i, ms in enumerate(loads, 1)
    )
    PERFORMANCE_DOC.write_text(
        f"""# Chat UI performance

Written by `tests/ui/test_browser.py` (marker `browser`) on every run; recorded, not asserted.

**Page load to first response visible: median {statistics.median(steady):,.0f} ms** (budget {LOAD_BUDGET_MS:,.0f} ms;
range {min(steady):,.0f}-{max(steady):,.0f} ms over {len(steady)} loads), on the embedded defaults: SQLite, rules
(no LLM), local deployment target, one uvicorn worker on 127.0.0.1, headless Chromium with the project's flags, a
logged-in user, every host but 127.0.0.1 unresolvable (the page must not need a CDN). Machine: {os.cpu_count()}
CPUs, load average {load_1m:.1f} when the test ended; the browser and the service share the CPUs, so a busy machine
shows directly in the figure (on this project's 2-CPU box under a parallel test run, load 4, medians of 1.1-1.4 s).

Measured from navigation start (`performance.now()`) to the moment the assistant's greeting is in the page, reloading
`/chat/` one second apart. Each load fetches the page, authenticates, lists the sidebar's threads, opens the
websocket and runs `on_chat_start`, which sends the greeting before it reads anything from the database. The 4.6 MB
frontend bundle comes from the browser cache (Compass serves it with immutable caching, gzipped once); the first
{WARM_UP} loads after login are slower while Chromium compiles and caches the bundle, and are listed but not counted.

| load | navigation start → greeting visible | |
|---|---|---|
{rows}

Where the time goes (one warm load, from the browser's resource timing): about 200 ms running the bundle, 100 ms of
API calls (auth, settings, translations, thread list; each answers in under 15 ms), 300-400 ms of the frontend
rendering between them, 100 ms from opening the websocket to the greeting.

What made it fit: the bundle's cache headers and one-time compression (Chainlit re-gzips 4.6 MB in the event loop
on every request, about 0.8 s per load), no Google web font (theme.json), websocket transport first (no long-polling
round trips), and the settings form and commands sent after the greeting instead of before.

Service start to healthy on a fresh database (migrate, seed the catalog, estimate benchmarks, import Chainlit):
{startup_s:,.1f} s.
""",
        encoding="utf-8",
    )


def _write_gallery(shots: list[tuple[str, str]]) -> None:
    """The screenshot list in ui/README.md, between its gallery markers."""
    readme = REPO_ROOT / "ui" / "README.md"
    start, end = "<!-- screenshots:start -->", "<!-- screenshots:end -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return
    gallery = "\n".join(
        f"{i}. {caption}: ![{caption}](../docs/screenshots/{name})" for i, (name, caption) in enumerate(shots, 1)
    )
    head, rest = text.split(start, 1)
    readme.write_text(head + start + "\n" + gallery + "\n" + end + rest.split(end, 1)[1], encoding="utf-8")
