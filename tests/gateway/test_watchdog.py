"""Deadlines without a timer per wait: the sweeper, a guarded receive, and the gateway's uses."""

from __future__ import annotations

import socket
import time

import gevent
import pytest
import requests
from gevent import socket as gsocket

from gateway.bufsock import BufferedSocket
from gateway.watchdog import MIN_TICK_S, Watchdog

BODY = b'{"model":"sonnet","stream":true,"messages":[]}'


class Conn:
    def __init__(self) -> None:
        self.expired = False

    def expire(self) -> None:
        self.expired = True


def test_sweep_expires_only_the_connections_past_their_deadline() -> None:
    now = [100.0]
    watchdog = Watchdog(clock=lambda: now[0])
    early, late, disarmed = Conn(), Conn(), Conn()
    watchdog.deadlines = {early: 101.0, late: 105.0}  # armed without starting the sweeper
    watchdog.deadlines[disarmed] = 100.5
    watchdog.disarm(disarmed)
    now[0] = 102.0
    assert watchdog.sweep() == 1
    assert (early.expired, late.expired, disarmed.expired) == (True, False, False)
    assert list(watchdog.deadlines) == [late]
    assert watchdog.sweep() == 0  # an expired connection is forgotten


def test_the_tick_follows_the_shortest_deadline_but_not_below_the_floor() -> None:
    watchdog = Watchdog()
    watchdog.arm(Conn(), 2.0)
    assert watchdog.tick == pytest.approx(0.2)
    watchdog.arm(Conn(), 30.0)
    assert watchdog.tick == pytest.approx(0.2)  # a longer deadline never slows the sweeper
    watchdog.arm(Conn(), 0.001)
    assert watchdog.tick == MIN_TICK_S
    watchdog.stop()


def test_a_guarded_receive_times_out_and_an_answered_one_does_not() -> None:
    watchdog = Watchdog()
    quiet, far = gsocket.socketpair()  # cooperative: this process is not patched
    reader = BufferedSocket(quiet)
    reader.guard = (watchdog, 0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"nothing received for 0\.2 s"):
        gevent.spawn(reader.fill).get(timeout=5)
    assert 0.19 < time.monotonic() - started < 1.0
    assert reader.expired and not watchdog.deadlines

    answered, other = gsocket.socketpair()
    reader = BufferedSocket(answered)
    reader.guard = (watchdog, 0.2)
    other.sendall(b"hello")
    assert gevent.spawn(reader.fill).get(timeout=5) == 5
    assert not reader.expired and not watchdog.deadlines
    watchdog.stop()
    for sock in (far, answered, other):
        sock.close()


def test_an_idle_keep_alive_connection_is_closed_after_idle_timeout(
    upstream_factory, gateway_factory, fakes
):
    upstream = upstream_factory()
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "limits": {"idle_timeout_s": 0.3},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the gateway, not by our timeout
        assert 0.25 < time.monotonic() - started < 2.0


def test_a_stream_that_stalls_past_read_timeout_is_refused(
    upstream_factory, gateway_factory, fakes
):
    stalled = upstream_factory(
        lambda seen: fakes.Stream(fakes.sse(("ping", {"type": "ping"})), delay_s=3)
    )
    provider = fakes.provider(stalled, timeouts={"read_s": 0.3})
    config = {
        "providers": {"primary": provider},
        "models": {"sonnet": [{"provider": "primary", "model": "p"}]},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    started = time.monotonic()
    response = requests.post(gw.url + "/v1/messages", data=BODY, headers=gw.auth(), timeout=10)
    assert time.monotonic() - started < 2.5
    assert response.status_code == 502
    assert "nothing received for 0.3 s" in response.json()["error"]["message"]


def test_a_client_that_stops_reading_is_dropped_after_request_timeout(
    upstream_factory, gateway_factory, fakes
):
    big = {"type": "ping", "pad": "x" * 65536}
    upstream = upstream_factory(lambda seen: fakes.Stream(fakes.sse(*[("ping", big)] * 400)))
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "limits": {"request_timeout_s": 0.5},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "k"})
    token = gw.auth()["x-api-key"]
    body = b'{"model":"m","stream":true}'
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills up at once
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (token.encode(), len(body), body)
        )
        started = time.monotonic()
        deadline = started + 10  # 26 MB at full speed would take far less; unread, forever
        while upstream.abandoned == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert upstream.abandoned == 1, "the gateway kept waiting on a client that reads nothing"
    [row] = gw.usage_rows(1)
    assert row["outcome"] == "client_gone"
