"""Mini App benchmark: first load of the 台账 (ledger) view and API latency, on loopback.

    python bench/webapp.py            # 100,000 members (bench/_dataset.py), 2,000 activities, 500,000 sign-ups
    python bench/webapp.py --quick    # 5,000 members (smoke run)

The bot's Mini App server (bot/webapp/server.py) runs on a loopback port over the generated
database. "First load" is what a phone does when the menu button is pressed: the page, its
script, style and the vendored ECharts (gzip), then `me` and `ledger` (the owner: the whole tree,
the heaviest ledger), timed with an empty cache; with Chromium present, also the time until the
ledger's charts are drawn in a real browser at 390×844. API p99: every list endpoint (members
pages and filters, card, approvals, activities, notices, feedback, ledger) as the owner and as a
branch coordinator. Targets: first load ≤ 1 s, API p99 ≤ 150 ms. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from bench._common import percentile
from bench._dataset import generate
from bot.clock import Clock
from bot.config import load_settings
from bot.i18n import Catalog
from bot.services import Services
from bot.webapp.auth import sign
from bot.webapp.server import WebApp, serve
from storage.db import Database

TOKEN = "7000000:bench"  # a fake token
OWNER = 9000001
COORDINATOR = 9000002
CHROMIUM = Path("/usr/bin/chromium")


async def first_load(base: str, auth: str) -> dict[str, float]:
    """Page + assets (gzip) + me + ledger, the way the page loads them (assets in parallel)."""
    headers = {"Accept-Encoding": "gzip", "Authorization": f"tma {auth}"}
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        async def get(path: str) -> int:
            async with session.get(base + path, headers=headers) as resp:
                body = await resp.read()  # decompressed by the client; the wire size is Content-Length
                assert resp.status == 200, (path, resp.status)
                return int(resp.headers.get("Content-Length", len(body)))

        await get("/webapp/?view=ledger")
        sizes = await asyncio.gather(get("/webapp/style.css"), get("/webapp/echarts.min.js"), get("/webapp/app.js"))
        assets_s = time.perf_counter() - started
        await get("/webapp/api/me")
        api_started = time.perf_counter()
        await get("/webapp/api/ledger")
        ledger_s = time.perf_counter() - api_started
    return {"first_load_s": time.perf_counter() - started, "assets_s": assets_s, "ledger_api_s": ledger_s,
            "assets_bytes_gzip": float(sum(sizes))}


async def browser_first_load(base: str, auth: str) -> float | None:
    if not CHROMIUM.exists():
        return None
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return None
    from urllib.parse import quote, urlencode

    fragment = "#" + urlencode({"tgWebAppData": auth, "tgWebAppVersion": "8.0"}, quote_via=quote)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                   args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            started = time.perf_counter()
            await page.goto(f"{base}/webapp/?view=ledger{fragment}")
            await page.wait_for_selector("#c2 canvas", timeout=30_000)
            return time.perf_counter() - started
        finally:
            await browser.close()


async def cursors(base: str, auth: str, pages: tuple[int, ...]) -> dict[str, str]:
    """The `after` key of deep directory pages, by following `next` as the page's ‹ › buttons do."""
    found: dict[str, str] = {}
    after: str | None = None
    async with aiohttp.ClientSession() as session:
        for page in range(1, max(pages) + 1):
            query = {} if after is None else {"after": after}
            async with session.get(f"{base}/webapp/api/members", params=query,
                                   headers={"Authorization": f"tma {auth}"}) as resp:
                after = (await resp.json())["next"]
            if after is None:
                break
            if page in pages:
                found[f"@{page}"] = after
    return found


async def api_latencies(base: str, auths: list[str], groups: list[int], rounds: int,
                        slowest: dict[str, float], cpu: list[float] | None = None) -> list[float]:
    """Wall time of each request (and, in `cpu`, the process's CPU time for it: the server and this
    client share the process; steadier than wall time on a machine shared with others)."""
    keys = {auth: await cursors(base, auth, (3, 200)) for auth in auths}
    paths: list[tuple[str, dict[str, str]]] = [
        ("me", {}), ("members", {}), ("members", {"after": "@3"}), ("members", {"after": "@200"}),
        ("members", {"category": "自由职业人员"}), ("members", {"expertise": "法律"}), ("members", {"name": "张"}),
        ("approvals", {}), ("activities", {}), ("notices", {}), ("feedback", {"status": "new"}),
        ("feedback", {"status": "answered", "page": "2"}), ("members/1", {}), ("ledger", {}),
    ]
    paths += [("members", {"group": str(g)}) for g in groups[:4]]
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            for auth in auths:
                for path, query in paths:
                    sent = {k: keys[auth].get(v, v) if k == "after" else v for k, v in query.items()}
                    if "after" in sent and sent["after"].startswith("@"):
                        continue  # the coordinator's branch has fewer pages
                    started, cpu_started = time.perf_counter(), time.process_time()
                    async with session.get(f"{base}/webapp/api/{path}", params=sent,
                                           headers={"Authorization": f"tma {auth}"}) as resp:
                        await resp.read()
                        assert resp.status in (200, 403), (path, resp.status)
                    took = time.perf_counter() - started
                    times.append(took)
                    if cpu is not None:
                        cpu.append(time.process_time() - cpu_started)
                    key = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
                    slowest[key] = max(slowest.get(key, 0.0), took)
    return times


async def run(db_path: Path, rounds: int) -> dict[str, Any]:
    settings = load_settings(None, LIAISON_DB=str(db_path), LIAISON_OWNERS=str(OWNER), BOT_TOKEN=TOKEN)
    db = await Database.open(db_path)
    try:
        group = int(await db.fetchval("SELECT id FROM groups WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1"))
        groups = [int(r["id"]) for r in await db.fetchall("SELECT id FROM groups ORDER BY id")]
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO coordinators (user_id, group_id, appointed_by, appointed_at)"
                             " VALUES (?, ?, 0, '2026-01-01T00:00:00.000000Z') ON CONFLICT DO NOTHING",
                             (COORDINATOR, group))
        services = Services.create(settings, db, Clock(), Catalog.load(settings.language))
        webapp = WebApp(services, TOKEN)
        runner = await serve(webapp, "127.0.0.1", 0)
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        now = int(time.time())
        owner = sign({"id": OWNER, "first_name": "Owner"}, TOKEN, now)
        coordinator = sign({"id": COORDINATOR, "first_name": "Coord"}, TOKEN, now)
        try:
            cold = await first_load(base, owner)
            warm = await first_load(base, owner)
            browser = await browser_first_load(base, owner)
            slowest: dict[str, float] = {}
            cpu: list[float] = []
            load = os.getloadavg()[0]
            times = await api_latencies(base, [owner, coordinator], groups, rounds, slowest, cpu)
            load = max(load, os.getloadavg()[0])
        finally:
            await runner.cleanup()
    finally:
        await db.close()
    return {
        "first_load_s": round(cold["first_load_s"], 3), "first_load_warm_s": round(warm["first_load_s"], 3),
        "ledger_api_s": round(cold["ledger_api_s"], 3), "assets_bytes_gzip": int(cold["assets_bytes_gzip"]),
        "browser_first_load_s": None if browser is None else round(browser, 3),
        "api_requests": len(times), "api_p50_ms": round(percentile(times, 50) * 1000, 1),
        "api_p99_ms": round(percentile(times, 99) * 1000, 1), "api_max_ms": round(max(times) * 1000, 1),
        "api_cpu_p50_ms": round(percentile(cpu, 50) * 1000, 1), "api_cpu_p99_ms": round(percentile(cpu, 99) * 1000, 1),
        "load_average": round(load, 1),
        "slowest_ms": {k: round(v * 1000, 1) for k, v in sorted(slowest.items(), key=lambda kv: -kv[1])[:5]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    members = 5_000 if args.quick else 100_000
    scale = members / 100_000
    with tempfile.TemporaryDirectory(prefix="bench-webapp-") as tmp:
        path = Path(tmp) / "bench.db"
        started = time.monotonic()
        counts = generate(path, members, max(10, int(2000 * scale)), int(500_000 * scale), int(50_000 * scale))
        generated_s = time.monotonic() - started
        figures = asyncio.run(run(path, args.rounds))
    figures = {"members": members, "dataset": counts, "generate_s": round(generated_s, 1), **figures,
               "first_load_ok": figures["first_load_s"] <= 1.0, "api_p99_ok": figures["api_p99_ms"] <= 150}
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
