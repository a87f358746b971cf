"""Screenshots of the web console for the docs: ``python scripts/console_screenshots.py``.

Seeds realistic queues on the test clock (an hour of producers adding and workers leasing,
sampled every 10 s so the depth charts have a history), serves the app on a free port and
photographs the queues page and a queue's page with Debian's Chromium (headless, through
Playwright). Writes ``docs/console-queues.png`` and ``docs/console-queue.png``; ``--out DIR``
writes elsewhere.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator import background  # noqa: E402
from emulator.app import runtime_app  # noqa: E402
from emulator.domain.clock import ControllableClock  # noqa: E402
from emulator.domain.model import AddRequest  # noqa: E402
from emulator.faces.console.views import Console  # noqa: E402
from emulator.server import ServerThread  # noqa: E402
from emulator.wiring import Runtime, build_runtime  # noqa: E402
from tests.browser_support import launch_chromium  # noqa: E402

QUEUE_YAML = """\
queue:
- name: image-resize
  mode: pull
  retry_parameters:
    task_retry_limit: 5
- name: email-outbox
  mode: pull
- name: reports
  mode: pull
  retry_parameters:
    task_retry_limit: 3
- name: webhooks
  rate: 20/s
"""
#: 2026-03-02T09:00:00Z: when the simulated hour starts.
START_USEC = 1_772_442_000 * 1_000_000
STEP_SECONDS = 10


def _console(runtime_app_: object) -> Console:
    works = getattr(runtime_app_, "extensions", {}).get(background.EXTENSION, [])
    return next(work for work in works if isinstance(work, Console))


def _image_job(rng: random.Random, n: int) -> AddRequest:
    user = rng.choice(["user-1042", "user-2210", "user-0007", "user-3141"])
    body = {"image": f"gs://uploads/{user}/IMG_{4000 + n}.jpg", "sizes": [64, 256, 1024]}
    return AddRequest(payload=json.dumps(body).encode(), tag=user)


def simulate(runtime: Runtime, console: Console, rng: random.Random) -> None:
    """An hour of traffic, sampled every 10 s of the test clock."""
    service, clock = runtime.service, runtime.clock
    clock.freeze(START_USEC)
    made = 0
    for step in range(3600 // STEP_SECONDS):
        burst = 14 if 150 <= step < 250 else 4
        jobs = [_image_job(rng, made + i) for i in range(rng.randint(burst - 3, burst + 3))]
        made += len(jobs)
        service.add("image-resize", jobs)
        workers = 3 if step < 200 else 16
        for task in service.lease("image-resize", 30, workers):
            if rng.random() < 0.95:  # the others are lost: their leases expire
                service.delete("image-resize", [task.name])
        if step % 3 == 0:
            to = f"customer{rng.randint(1, 999)}@example.com"
            mail = {"to": to, "template": "receipt"}
            service.add("email-outbox", [AddRequest(payload=json.dumps(mail).encode())])
        if step % 9 == 0:
            for task in service.lease("email-outbox", 60, 2):
                service.delete("email-outbox", [task.name])
        console.sampler.sample()
        clock.advance(STEP_SECONDS)
    service.add(
        "email-outbox",
        [AddRequest(payload=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", tag="attachment")],
    )
    service.add(
        "reports",
        [
            AddRequest(payload=b'{"report": "monthly", "month": "2026-02"}', countdown_seconds=900),
            AddRequest(payload=b'{"report": "weekly"}', tag="finance", countdown_seconds=3600),
        ],
    )
    service.pause("reports")
    thumbnail = AddRequest(
        payload=bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb0043")
    )
    service.add("image-resize", [_image_job(rng, made), thumbnail])
    service.lease("image-resize", 120, 3)
    service.add("image-resize", [_image_job(rng, made + i) for i in range(1, 4)])
    service.add(
        "image-resize",
        [
            AddRequest(payload=json.dumps({"rebuild": "sprites"}).encode(), countdown_seconds=300),
            AddRequest(
                payload=b'<script>alert("tags and payloads are escaped")</script>',
                tag='"><img src=x onerror=alert(1)>',
                countdown_seconds=600,
            ),
        ],
    )
    clock.advance(5)
    console.sampler.sample()


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory:
        queue_yaml = Path(directory) / "queue.yaml"
        queue_yaml.write_text(QUEUE_YAML)
        runtime = build_runtime(str(queue_yaml), ":memory:", clock=ControllableClock())
        app = runtime_app(runtime)
        simulate(runtime, _console(app), random.Random(9))
        server = ServerThread(app).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1480, "height": 900})
                base = f"http://{server.address}"
                page.goto(f"{base}/")
                page.screenshot(path=str(args.out / "console-queues.png"), full_page=True)
                page.goto(f"{base}/queues/image-resize?limit=25")
                page.screenshot(path=str(args.out / "console-queue.png"), full_page=True)
                browser.close()
        finally:
            server.stop()
            runtime.close()
    print(f"wrote {args.out / 'console-queues.png'} and {args.out / 'console-queue.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
