"""Benchmark what the gateway adds to a model call, side by side with LiteLLM's proxy, in one run.

Run: ``make bench`` (or ``.venv/bin/python bench/gateway_overhead.py [--quick] [--skip-litellm]``).
Method (shared/reference/gateway.md §10.3): an instant fake upstream (``gateway_upstream.py``)
and this client share one core; each gateway (``reins gateway --workers 1``, LiteLLM's proxy with
one worker) is pinned alone to the other. Every scenario sends the same request straight to the
upstream ("direct") and through each gateway over persistent connections, sequentially, in
interleaved blocks, so that noise hits all columns alike; added latency = gateway minus direct at the
same percentile. A ``floor`` column (``gateway_floor.py``, the least a gevent proxy can do) shows
what this machine allows today for plain passthrough, and a ``floor+work`` column the same proxy
doing Reins' unavoidable per-request work inline (``--no-floor`` leaves both out); an ``nginx``
column, when nginx is installed, shows what a compiled proxy pays on the same machine. The header
prints how idle cores wake (``cpuidle.py``), which sets that floor on a VM. Then each
target is driven by 64 connections for a fixed time, and the RSS of every gateway process is read.
A scenario a gateway cannot serve (its config refuses translation, or it answers with an error) is
skipped for that gateway with a printed note.
LiteLLM is installed on first use into var/bench/litellm-venv; it is never a Reins dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cpuidle
import gateway_targets as targets
from gateway_bodies import claude_code_body, small_body
from gateway_client import Samples, TimedConnection, dechunk, interleaved, timed_closed_loop
from report import print_table

EVENTS = 2000


def check_message(body: bytes) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:120]!r}"
    if message.get("type") != "message":
        return f"not an Anthropic message: {body[:160]!r}"
    return None


def check_translated(body: bytes) -> str | None:
    """The answer must come from the upstream's OpenAI endpoint (text only, no tool_use)."""
    problem = check_message(body)
    if problem:
        return problem
    kinds = [block.get("type") for block in json.loads(body).get("content", [])]
    return None if kinds == ["text"] else f"not the OpenAI upstream's answer: {body[:160]!r}"


def check_stream(body: bytes) -> str | None:
    if (
        body.count(b"event: content_block_delta") != EVENTS - 5
        or b"event: message_stop" not in body
    ):
        return f"stream of {body.count(b'event: ')} events without all {EVENTS - 5} deltas and message_stop"
    return None


@dataclass
class Scenario:
    key: str
    title: str
    model: str
    body: Callable[[str], bytes]
    check: Callable[[bytes], str | None]
    targets: dict[str, str]  # percentile row -> target text
    translated: bool = False
    fallback: bool = False
    share: float = 1.0  # fraction of --requests (long streams are slow through LiteLLM)


SCENARIOS = [
    Scenario("passthrough", "Anthropic passthrough, small body", targets.MODEL, small_body, check_message,
             {"p50": "≤ 0.2 ms (LiteLLM ref. +9.67)", "p99": "≤ 0.6 ms (LiteLLM ref. +13.22)"}),
    Scenario("claude-code", "Anthropic passthrough, ~80 KB Claude Code body", targets.MODEL,
             claude_code_body, check_message, {"p50": "≤ 0.4 ms", "p99": "report"}),
    Scenario("stream", f"Anthropic SSE, {EVENTS:,} events", targets.MODEL,
             lambda m: small_body(m, stream=True), check_stream,
             {"ttfb p50": "≤ 0.3 ms (LiteLLM ref. +12.37, 14 events)",
              "total p50": "≤ 2 ms (LiteLLM ref. +16.29, 14 events)", "total p99": "report"},
             share=0.25),
    Scenario("fallback", "same-format fallback after a 429", "claude-fallback", small_body,
             check_message, {"p50": "≤ 0.5 ms", "p99": "report"}, fallback=True),
    Scenario("translated", "Anthropic → OpenAI translated", "claude-to-gpt", small_body,
             check_translated, {"p50": "≤ 1 ms (LiteLLM ref. +12.70)", "p99": "≤ 3 ms (LiteLLM ref. +17.91)"},
             translated=True),
    Scenario("cross-fallback", "cross-format fallback after a 429", "claude-cross-fallback",
             small_body, check_translated, {"p50": "≤ 1.5 ms (LiteLLM ref. +19.14)", "p99": "report"},
             translated=True, fallback=True),
]  # fmt: skip


FLOOR_SCENARIOS = ("passthrough", "claude-code")
DESCRIPTIONS = {
    "floor": "floor = the least a gevent proxy can do (gateway_floor.py: no auth, routing, "
    "usage, metrics or timeouts), for how fast this machine is today",
    "floor+work": "floor+work = the floor doing Reins' unavoidable per-request work inline "
    "with Reins' own functions (token, model, usage record, cost header; gateway_floor.py --work)",
    "nginx": "nginx = nginx as a plain keep-alive reverse proxy, one process (a compiled "
    "yardstick: what any proxy pays on this machine)",
    "LiteLLM": f"LiteLLM = litellm[proxy] {targets.LITELLM_VERSION}, 1 worker, no database, "
    "no retries, no cooldowns",
    "Reins": "Reins = reins gateway --workers 1",
}


@dataclass
class Gateway:
    name: str
    port: int
    key: str
    server: targets.Server
    limited: str  # the upstream listener that answers this gateway's primaries with 429
    translated: bool = True
    serves: tuple[str, ...] | None = None  # the scenario keys it can run (None: every one)


@dataclass
class Outcome:
    scenario: Scenario
    samples: dict[str, Samples] = field(default_factory=dict)
    primary_share: dict[str, float] = field(default_factory=dict)


def anthropic_request(body: bytes, key: str) -> bytes:
    head = (
        f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {key}\r\n"
        f"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def probe(gateway: Gateway, request: bytes, scenario: Scenario) -> str | None:
    """Why ``gateway`` cannot serve ``scenario`` (one real request), or None."""
    if scenario.translated and not gateway.translated:
        return "its config refused the translated targets"
    conn = TimedConnection("127.0.0.1", gateway.port)
    try:
        reply = conn.exchange(request, keep_body=True)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    if reply.status != 200:
        return f"HTTP {reply.status}: {reply.body[:200]!r}"
    body = reply.body
    if body.endswith(b"\r\n0\r\n\r\n"):
        body = dechunk(body)
    return scenario.check(body)


def run_scenario(
    scenario: Scenario,
    gateways: list[Gateway],
    args: argparse.Namespace,
    ports: dict[str, int],
    say: Callable[[str], None],
) -> Outcome:
    print(f"running: {scenario.title}", file=sys.stderr, flush=True)
    body = scenario.body(scenario.model)
    direct = anthropic_request(body, targets.FAKE_KEYS["ANTHROPIC_API_KEY"])
    plan = {"direct": (TimedConnection("127.0.0.1", ports["ok"]), direct)}
    for gateway in gateways:
        if gateway.serves is not None and scenario.key not in gateway.serves:
            continue  # a yardstick column (floor): plain passthrough only
        request = anthropic_request(body, gateway.key)
        problem = probe(gateway, request, scenario)
        if problem:
            say(f"{scenario.title}: {gateway.name} skipped — {problem}")
            continue
        plan[gateway.name] = (TimedConnection("127.0.0.1", gateway.port), request)
    before = targets.upstream_counts(ports["ok"]) if scenario.fallback else {}
    count = max(args.block, int(args.requests * scenario.share))
    samples = interleaved(plan, count, args.block, args.warmup)
    outcome = Outcome(scenario, samples)
    if scenario.fallback:
        after = targets.upstream_counts(ports["ok"])
        for gateway in gateways:
            if gateway.name in samples:
                port = str(ports[gateway.limited])
                sent = len(samples[gateway.name].total_ms) + args.warmup
                outcome.primary_share[gateway.name] = (after[port] - before.get(port, 0)) / sent
    for conn, _ in plan.values():
        conn.close()
    for name, got in samples.items():
        if got.bad:
            say(f"{scenario.title}: {name} had {got.bad} failed requests, first: {got.first_bad}")
    return outcome


def latency_rows(outcome: Outcome, names: list[str]) -> list[tuple[str, str, str]]:
    rows = []
    direct = outcome.samples["direct"]
    for label, target in outcome.scenario.targets.items():
        ttfb = label.startswith("ttfb")
        q = 0.5 if label.endswith("p50") else 0.99
        cells = [f"direct {direct.pct(q, ttfb):.2f}"]
        for name in names:
            got = outcome.samples.get(name)
            added = got.pct(q, ttfb) - direct.pct(q, ttfb) if got and got.total_ms else None
            cells.append(f"{name} " + (f"{added:+.2f}" if added is not None else "skipped"))
        rows.append((f"{outcome.scenario.title}: added {label} (ms)", " | ".join(cells), target))
    if outcome.primary_share:
        share = " | ".join(f"{n} {v:.0%}" for n, v in outcome.primary_share.items())
        rows.append(
            (f"{outcome.scenario.title}: requests that tried the 429 primary", share, "100 %")
        )
    return rows


def throughput_rows(
    gateways: list[Gateway], args: argparse.Namespace, ports: dict[str, int]
) -> list[tuple[str, str, str]]:
    body = small_body(targets.MODEL)
    runs = {"direct": ("127.0.0.1", ports["ok"], targets.FAKE_KEYS["ANTHROPIC_API_KEY"])}
    runs.update({g.name: ("127.0.0.1", g.port, g.key) for g in gateways})
    rates, errors = [], []
    for name, (host, port, key) in runs.items():
        result = timed_closed_loop(
            host, port, anthropic_request(body, key), args.connections, args.seconds
        )
        bad = result.errors + sum(n for status, n in result.statuses.items() if status != 200)
        rates.append(f"{name} {result.rate:,.0f}/s")
        errors.append(f"{name} {bad} / p99 {result.pct(0.99):.1f} ms")
    title = f"throughput, {args.connections} connections, {args.seconds:g} s"
    rss = " | ".join(
        f"{g.name} " + ", ".join(f"{r:.0f}" for r in g.server.rss_mib()) for g in gateways
    )
    start = " | ".join(f"{g.name} {g.server.startup_s:.1f}" for g in gateways)
    return [
        (title, " | ".join(rates), "≥ 5,000/s per core (LiteLLM ref. 152/s)"),
        (f"{title}: errors / p99", " | ".join(errors), "0 errors"),
        (
            "RSS per gateway process after the run",
            (rss or "no gateway") + " MiB",
            "≤ 80 MiB (LiteLLM ref. 333-437)",
        ),
        ("start to first answer", (start or "no gateway") + " s", "report"),
    ]


def start_gateways(
    work: Path,
    ports: dict[str, int],
    cores: set[int] | None,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> list[Gateway]:
    gateways: list[Gateway] = []
    if args.skip_litellm:
        say("LiteLLM column skipped (--skip-litellm)")
    else:
        try:
            server, key, port = targets.start_litellm(work, ports, cores, say)
            gateways.append(Gateway("LiteLLM", port, key, server, "429-litellm"))
        except targets.StartError as exc:
            say(f"LiteLLM column skipped: {exc}")
    if args.floor:
        server, key, port = targets.start_floor(work, ports, cores)
        gateways.append(Gateway("floor", port, key, server, "ok", serves=FLOOR_SCENARIOS))
        server, key, port = targets.start_floor(work, ports, cores, work / "floor-work.db")
        gateways.append(Gateway("floor+work", port, key, server, "ok", serves=FLOOR_SCENARIOS))
    if args.nginx:
        try:
            server, key, port = targets.start_nginx(work, ports, cores)
            serves = (*FLOOR_SCENARIOS, "stream")
            gateways.append(Gateway("nginx", port, key, server, "ok", serves=serves))
        except targets.StartError as exc:
            say(f"nginx column skipped: {exc}")
    if not targets.reins_available():
        say("Reins column skipped: gateway/cli.py is not there yet (issue 7)")
        return gateways
    try:
        server, token, port = targets.start_reins(work, ports, cores, translated=True)
        gateways.append(Gateway("Reins", port, token, server, "429-reins"))
    except targets.StartError as exc:
        say(f"Reins refused the translated targets; running without them: {str(exc).strip()[:600]}")
        try:
            server, token, port = targets.start_reins(work, ports, cores, translated=False)
            gateways.append(Gateway("Reins", port, token, server, "429-reins", translated=False))
        except targets.StartError as exc2:
            say(f"Reins column skipped: {exc2}")
    return gateways


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few requests per scenario, 1 s throughput (smoke test)",
    )
    parser.add_argument(
        "--skip-litellm", action="store_true", help="no LiteLLM column (no install)"
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="sequential requests per target and scenario"
    )
    parser.add_argument("--block", type=int, default=50, help="interleaving block size")
    parser.add_argument(
        "--warmup", type=int, default=200, help="warm-up requests per target and scenario"
    )
    parser.add_argument("--seconds", type=float, default=10, help="duration of each throughput run")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="no floor and floor+work columns (the minimal gevent proxy of gateway_floor.py)",
    )
    parser.add_argument(
        "--no-nginx",
        dest="nginx",
        action="store_false",
        help="no nginx column (plain nginx reverse proxy, when an nginx executable is found)",
    )
    parser.add_argument(
        "--halt-poll-ns",
        type=int,
        metavar="NS",
        help="run with /sys/module/haltpoll/parameters/guest_halt_poll_ns set to NS (root; "
        "restored after): 0 halts idle cores at once, 200000 is the kernel's default",
    )
    parser.add_argument("--connections", type=int, default=64)
    keys = [s.key for s in SCENARIOS]
    parser.add_argument(
        "--only", type=lambda v: v.split(","), default=[], help=f"comma list of {', '.join(keys)}"
    )
    args = parser.parse_args()
    if args.quick:
        args.requests, args.block, args.warmup, args.seconds = 100, 20, 10, 1.0
    if min(args.requests, args.block, args.connections) < 1 or args.seconds <= 0:
        parser.error("--requests, --block, --connections and --seconds must be positive")
    if set(args.only) - set(keys):
        parser.error(f"--only: unknown {sorted(set(args.only) - set(keys))}; choose from {keys}")
    return args


def main() -> int:
    args = parse_args()
    # SIGTERM must unwind too, so that --halt-poll-ns puts the machine's setting back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        with cpuidle.halt_poll(args.halt_poll_ns):
            return run(args)
    except cpuidle.SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    say = lambda text: print(f"note: {text}", flush=True)  # noqa: E731
    idle = cpuidle.describe()
    cores = sorted(os.sched_getaffinity(0))
    gateway_cores, client_cores = ({cores[0]}, {cores[1]}) if len(cores) >= 2 else (None, None)
    if client_cores:
        os.sched_setaffinity(0, client_cores)
    with tempfile.TemporaryDirectory(prefix="reins-gwbench-") as tmp:
        work = Path(tmp)
        listeners = {"ok": "ok", "429-litellm": "429", "429-reins": "429"}
        upstream, ports = targets.start_upstream(work, listeners, EVENTS, client_cores)
        gateways: list[Gateway] = []
        try:
            gateways = start_gateways(work, ports, gateway_cores, args, say)
            chosen = [s for s in SCENARIOS if not args.only or s.key in args.only]
            outcomes = [run_scenario(s, gateways, args, ports, say) for s in chosen]
            rows = [row for o in outcomes for row in latency_rows(o, [g.name for g in gateways])]
            rows += throughput_rows(gateways, args, ports)
        finally:
            for server in [g.server for g in gateways] + [upstream]:
                server.stop()
    described = "; ".join(DESCRIPTIONS[g.name] for g in gateways)
    pinned = (
        f"gateways on core {cores[0]}, client and fake upstream on core {cores[1]}"
        if client_cores
        else "not pinned (one core)"
    )
    print(
        f"\ngateway overhead: {args.requests} sequential requests per target and scenario in blocks of {args.block}, {pinned}"
    )
    print(f"this machine: {idle}")
    print(f"columns: direct = straight to the fake upstream; {described or 'no gateway ran'}")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
