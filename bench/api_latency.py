"""Latency of single-text ``POST /v1/classify`` against a real ``voc serve`` on 127.0.0.1.

Phases: (1) open-loop load at a fixed rate (default 50 req/s for 20 s), latency measured from each request's
scheduled send time, so queueing is counted; (2) the same while a batch job runs in the worker pool;
(3) closed-loop saturation with a few concurrent clients: the maximum sustained req/s.
Writes ``bench/results/api_latency.json``.

    .venv/bin/python bench/api_latency.py [--rate 50] [--seconds 20] [--pipeline-config pipeline.yaml]
    .venv/bin/python bench/api_latency.py --real --rates 25,50,100 --skip-batch   # → api_latency_real.json
    .venv/bin/python bench/api_latency.py --real --profile-requests 300   # CPU ms/request + where it goes

``--real`` sends distinct real feedback texts (mean ≈ 170 characters; the synthetic sentences are short and
repeat, which flatters every cache and model); ``--profile-requests`` runs in-process only.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = ["доставка", "курьер", "оплата картой", "приложение банка", "служба поддержки", "возврат денег",
           "заказ", "тариф", "кассир", "личный кабинет"]
PHRASES = ["{o} опять подвёл, жду третий день", "спасибо, {o} сработал быстро и без проблем",
           "не могу понять, как работает {o}", "{o} ужасный, деньги списали дважды",
           "всё хорошо, {o} на высоте, рекомендую", "хочу уточнить условия: {o}"]


def texts(n: int, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    return [" ".join(rnd.choice(PHRASES).format(o=rnd.choice(OBJECTS)) for _ in range(rnd.randint(1, 3))).capitalize()
            for _ in range(n)]


def real_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct real feedback texts (train-side files of ../shared, mean ≈ 170 characters), drawn the
    way ``bench/throughput.py --real`` draws them (its cached CSV under bench/data, never committed)."""
    import pandas as pd

    if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the repository root may not be
        sys.path.insert(0, str(ROOT))
    from bench.throughput import make_real_input

    path = make_real_input(30_000, ROOT / "bench" / "data" / "real_30000.csv")
    pool = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["текст"])["текст"].tolist()
    random.Random(seed).shuffle(pool)
    return pool[:n]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    load = os.getloadavg()
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "loadavg_1_5_15_at_end": [round(x, 2) for x in load]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q / 100 * len(s)))], 2)


def summary(lat_ms: list[float], errors: int, seconds: float, offered: float | None) -> dict:
    return {"requests": len(lat_ms) + errors, "errors": errors, "offered_rps": offered,
            "achieved_rps": round(len(lat_ms) / seconds, 1), "p50_ms": pct(lat_ms, 50), "p95_ms": pct(lat_ms, 95),
            "p99_ms": pct(lat_ms, 99), "max_ms": round(max(lat_ms), 2) if lat_ms else None,
            "mean_ms": round(statistics.fmean(lat_ms), 2) if lat_ms else None}


async def open_loop(base: str, headers: dict, rate: float, seconds: float, bodies: list[str]) -> dict:
    """Send at a fixed rate regardless of answers; latency counts from the scheduled time."""
    lat: list[float] = []
    errors = 0
    n = int(rate * seconds)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        t0 = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = t0 + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                r = await client.post("/v1/classify", json={"text": bodies[i % len(bodies)], "channel": "review"})
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                lat.append((time.perf_counter() - scheduled) * 1000)
            else:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
    return {**summary(lat, errors, wall, rate), "wall_s": round(wall, 1)}


async def closed_loop(base: str, headers: dict, clients: int, seconds: float, bodies: list[str]) -> dict:
    lat: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        end = time.perf_counter() + seconds

        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < end:
                t = time.perf_counter()
                r = await client.post("/v1/classify", json={"text": bodies[i % len(bodies)]})
                if r.status_code == 200:
                    lat.append((time.perf_counter() - t) * 1000)
                else:
                    errors += 1
                i += clients

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    return {"clients": clients, **summary(lat, errors, wall, None)}


def _classify_app(pipeline_config: Path | None) -> Any:
    from voc_api.app import create_app
    from voc_api.settings import Settings

    values: dict[str, Any] = {"data_dir": Path(tempfile.mkdtemp(prefix="voc-prof-")) / "data", "workers": 0,
                              "log_level": "WARNING"}
    if pipeline_config:
        values["pipeline_config"] = pipeline_config.resolve()
    return create_app(Settings.model_validate(values), start_workers=False, start_sender=False)


def _run_sequential(client: Any, headers: dict, bodies: list[str]) -> None:
    for text in bodies:
        client.post("/v1/classify", headers=headers, json={"text": text, "channel": "review"}).raise_for_status()


def profile_requests(n: int, bodies: list[str], pipeline_config: Path | None, top: int = 30) -> dict:
    """``n`` sequential ``POST /v1/classify`` calls on the in-process app (TestClient, the full ASGI stack:
    middleware, auth, audit, micro-batcher, pipeline): CPU ms per request (``time.process_time``, all threads)
    without a profiler, then cProfile's top functions over the same calls by CPU time (``time.thread_time``:
    waits on locks and sockets count nothing), summed over every thread (event loop, micro-batch consumers,
    thread pools, audit writer): all functions by own time, then the service's by cumulative time."""
    import cProfile
    import io
    import pstats
    import threading

    from fastapi.testclient import TestClient

    from voc_api.keys import create_key

    warm, timed = bodies[:20], [bodies[20 + i % max(1, len(bodies) - 20)] for i in range(n)]
    with TestClient(_classify_app(pipeline_config)) as client:
        token, _ = create_key(client.app.state.voc.sessions, "analyst", "profile")
        headers = {"Authorization": f"Bearer {token}"}
        _run_sequential(client, headers, warm)
        c0, w0 = time.process_time(), time.perf_counter()
        _run_sequential(client, headers, timed)
        cpu_ms = (time.process_time() - c0) * 1000 / n
        wall_ms = (time.perf_counter() - w0) * 1000 / n

    profiles: list[cProfile.Profile] = []

    def per_thread(*_: object) -> None:  # first event of a new thread: its own profiler from then on
        prof = cProfile.Profile(time.thread_time)
        profiles.append(prof)
        prof.enable()

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(per_thread)  # every thread the app starts (portal, consumers, pools, audit)
    try:
        with TestClient(_classify_app(pipeline_config)) as client:
            token, _ = create_key(client.app.state.voc.sessions, "analyst", "profile")
            headers = {"Authorization": f"Bearer {token}"}
            _run_sequential(client, headers, warm)
            for prof in list(profiles):
                prof.clear()  # drop start-up and warm-up
            main.enable()
            _run_sequential(client, headers, timed)
            main.disable()
            snapshot = []
            for prof in list(profiles):
                prof.snapshot_stats()
                snapshot.append(prof)
    finally:
        threading.setprofile(None)
    out = io.StringIO()
    stats = pstats.Stats(main, stream=out)
    for prof in snapshot:
        if prof.stats:
            stats.add(prof)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"/(api|voc|models)/|starlette|fastapi|pydantic|sqlalchemy|httpx|anyio|asyncio|threading", top)
    print(out.getvalue())
    return {"requests": n, "cpu_ms_per_request": round(cpu_ms, 2), "wall_ms_per_request": round(wall_ms, 2),
            "how": "in-process TestClient, sequential, time.process_time over all threads, no profiler"}


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--batch-rows", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pipeline-config", type=Path, default=None, help="pipeline.yaml (default: shipped models)")
    ap.add_argument("--out", type=Path, default=None,
                    help="default bench/results/api_latency.json (api_latency_real.json with --real)")
    ap.add_argument("--real", action="store_true", help="real feedback texts from ../shared (mean ≈ 170 chars)")
    ap.add_argument("--rates", default=None, help="open-loop rates to run alone, e.g. 25,50,100 (default: --rate)")
    ap.add_argument("--skip-batch", action="store_true", help="no 'during a batch job' phase")
    ap.add_argument("--profile-requests", type=int, default=0, metavar="N",
                    help="in-process only: CPU ms per request and cProfile's top functions over N sequential calls")
    args = ap.parse_args()
    make = real_texts if args.real else texts
    if args.profile_requests:
        bodies = make(max(500, args.profile_requests + 20))
        prof = profile_requests(args.profile_requests, bodies, args.pipeline_config)
        prof["mean_chars"] = round(statistics.fmean(len(t) for t in bodies), 1)
        prof["input"] = "real" if args.real else "synthetic"
        print(json.dumps(prof, ensure_ascii=False))
        return
    rates = [float(r) for r in args.rates.split(",")] if args.rates else [args.rate]
    out = args.out or ROOT / "bench" / "results" / ("api_latency_real.json" if args.real else "api_latency.json")
    # distinct texts per request where the pool allows (real texts: name-masker caches stay cold, as in service)
    bodies = make(min(30_000, max(500, int(sum(rates) * args.seconds * 2 + 200))) if args.real else 500)
    offset = {"next": 0}

    def phase_bodies(count: int) -> list[str]:
        start = offset["next"] % len(bodies)
        offset["next"] += count
        return bodies[start:] + bodies[:start]

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="voc-bench-"))
    env = {**os.environ, "VOC_DATA_DIR": str(tmp / "data"), "VOC_WORKERS": str(args.workers),
           "VOC_LOG_LEVEL": "WARNING"}
    if args.pipeline_config:
        env["VOC_PIPELINE_CONFIG"] = str(args.pipeline_config.resolve())
    py = sys.executable
    token = subprocess.run([py, "-m", "api", "keys", "create", "--role", "analyst", "--name", "bench"], env=env,
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([py, "-m", "api", "serve", "--port", str(port)], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    during: dict | None = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("service did not become ready in 180 s")
        models = httpx.get(base + "/v1/models", headers=headers).json()
        asyncio.run(open_loop(base, headers, 20, 3, phase_bodies(60)))  # warm-up
        alone: dict[str, dict] = {}
        for rate in rates:
            cpu0 = server_cpu_s(server.pid)
            res = asyncio.run(open_loop(base, headers, rate, args.seconds, phase_bodies(int(rate * args.seconds))))
            res["server_cpu_ms_per_request"] = round(1000 * (server_cpu_s(server.pid) - cpu0)
                                                     / max(1, res["requests"]), 2)
            res["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
            alone[f"{rate:g}"] = res
            print("alone", rate, res, flush=True)

        if not args.skip_batch:
            csv_path = tmp / "batch.csv"
            with open(csv_path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["id", "date", "text"])
                for i, t in enumerate(make(args.batch_rows, seed=1)):
                    w.writerow([f"b{i}", f"2026-01-{1 + i % 28:02d}", t])
            with open(csv_path, "rb") as fh:
                batch = httpx.post(base + "/v1/batches", headers=headers, files={"file": ("batch.csv", fh)},
                                   timeout=120)
            batch_id = batch.json()["id"]
            wait_start = time.monotonic()
            while httpx.get(f"{base}/v1/batches/{batch_id}", headers=headers).json()["state"] == "queued":
                if time.monotonic() - wait_start > 120:
                    break
                time.sleep(0.2)
            during = asyncio.run(open_loop(base, headers, args.rate, args.seconds,
                                           phase_bodies(int(args.rate * args.seconds))))
            status = httpx.get(f"{base}/v1/batches/{batch_id}", headers=headers).json()
            during["batch_state_after"] = status["state"]
            during["batch_rows_done_after"] = status["rows_in"]
            print("during batch", during, flush=True)
            httpx.delete(f"{base}/v1/batches/{batch_id}", headers=headers)
            time.sleep(2)
        saturation = asyncio.run(closed_loop(base, headers, 16, min(args.seconds, 10), phase_bodies(0)))
        print("saturation", saturation, flush=True)
        metrics = httpx.get(base + "/metrics").text
        infer = {k: float(v) for k, v in (line.split(" ") for line in metrics.splitlines()
                                           if line.startswith(("voc_inference_seconds_sum", "voc_inference_seconds_count")))}
    finally:
        server.terminate()
        server.wait(60)
    mean_infer_ms = 1000 * infer.get("voc_inference_seconds_sum", 0) / max(infer.get("voc_inference_seconds_count", 1), 1)
    result = {
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine(), "loadavg_1_5_15_at_start": load_at_start,
                    "note": "shared machine: other engineers' jobs ran at the same time"},
        "input": {"kind": "real texts (train-side files of ../shared, as bench/throughput.py --real)"
                  if args.real else "synthetic recombined sentences",
                  "distinct_texts": len(bodies), "mean_chars": round(statistics.fmean(len(t) for t in bodies), 1)},
        "models": models,
        "load_generator": "same machine (httpx asyncio client competes for the same cores)",
        "open_loop_alone": alone if len(rates) > 1 else alone[f"{rates[0]:g}"],
        "open_loop_during_batch": during,
        "max_sustained_closed_loop": saturation,
        "server_mean_inference_ms": round(mean_infer_ms, 2),
        "target": {"p99_ms": 50, "rate_rps": 50, "no_errors_at_rps": 100},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
