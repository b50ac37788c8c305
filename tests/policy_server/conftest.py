"""Fixtures for the policy server: a fresh app per test on a temporary SQLite file, and tokens.

Live servers and ``make_token`` are shared by every package's tests: see ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from policy_server.app import create_app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reins.db"


@pytest.fixture
def app(db: Path) -> Iterator[Flask]:
    app = create_app({"db": str(db), "policies": None, "fail_mode": "auto"})
    yield app
    app.extensions["reins"].committer.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def dev_token(db: Path, app: Flask, token_factory) -> str:
    return token_factory(db, "dana", "developer")


@pytest.fixture
def auditor_token(db: Path, app: Flask, token_factory) -> str:
    return token_factory(db, "ada", "auditor")


@pytest.fixture
def admin_token(db: Path, app: Flask, token_factory) -> str:
    return token_factory(db, "root", "admin")


@pytest.fixture
def bearer():
    def headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return headers
