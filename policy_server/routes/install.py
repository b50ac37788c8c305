"""The one-line installer's downloads: ``GET /install.sh``, ``GET /v1/install/reins-installer.pyz``,
``GET /v1/install/reins_hook.py``.

These three are **public by design**: no token is needed to fetch them, because they hold no
secret. The developer passes their own token on the command line
(``curl -fsSL http://SERVER:8700/install.sh | sh -s -- --token TOKEN``) and it never reaches
these endpoints. ``/install.sh`` is the template ``installers/install.sh`` with this server's
external URL filled in: the configured ``public_url`` when set, else the request's
``X-Forwarded-Proto``/``X-Forwarded-Host`` (behind a proxy) or scheme and ``Host``. That URL is
checked against a strict pattern before it goes into the script, so a forged header can never
inject shell code; answers carry ``Vary`` on those headers so a shared cache keeps them apart.

Every answer has a strong ``ETag`` (sha256 of the body) and ``Cache-Control: no-cache``: clients
revalidate each time (``If-None-Match`` → 304) and pick up a server upgrade at once. The zipapp
is built once per worker from the files on disk and rebuilt when they change.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Request, Response, current_app, request

from .. import errors
from ..app import state
from ..config import check_public_url

bp = Blueprint("install", __name__)

PLACEHOLDER = "__REINS_SERVER_URL__"
VARY = "Host, X-Forwarded-Host, X-Forwarded-Proto"


def external_url(req: Request, configured: str | None) -> str:
    """The URL a developer machine reaches this server at (no trailing slash)."""
    if configured:
        return configured.rstrip("/")
    proto = _first(req.headers.get("X-Forwarded-Proto")) or req.scheme
    host = _first(req.headers.get("X-Forwarded-Host")) or req.host
    try:
        return check_public_url(f"{proto.lower()}://{host}")
    except ValueError as exc:
        raise errors.ApiError(
            400,
            f"cannot build the installer URL from this request's Host/X-Forwarded-* headers ({exc}); "
            "set public_url (env REINS_PUBLIC_URL) to the URL developers use to reach this server",
        ) from None


def _first(value: str | None) -> str:
    """First entry of a comma-separated forwarded header (the client-facing proxy's)."""
    return (value or "").split(",")[0].strip()


def _revalidated(body: bytes, mimetype: str, vary: bool = False, etag: str = "") -> Response:
    """The answer with its strong ETag, answered 304 when the client already has it."""
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag or hashlib.sha256(body).hexdigest())
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if vary:
        response.headers["Vary"] = VARY
    return response.make_conditional(request)


@bp.get("/install.sh")
def install_sh() -> Response:
    from ..installer_zipapp import PACKAGE_DIR

    url = external_url(request, state().settings.get("public_url"))
    try:
        template = (PACKAGE_DIR / "install.sh").read_text(encoding="utf-8")
    except OSError:
        raise errors.ApiError(
            503, "installers/install.sh is missing from this server's checkout"
        ) from None
    if PLACEHOLDER not in template:
        raise errors.ApiError(503, f"installers/install.sh lacks the {PLACEHOLDER} placeholder")
    body = template.replace(PLACEHOLDER, url).encode()
    return _revalidated(body, "text/x-shellscript", vary=True)


@bp.get("/v1/install/reins-installer.pyz")
def installer_pyz() -> Response:
    from .. import installer_zipapp as zipapp

    cache = current_app.extensions.setdefault("reins_install", {})
    try:
        files = zipapp.sources()
        stamp = zipapp.fingerprint(files)
        if cache.get("stamp") != stamp:
            cache["pyz"], cache["stamp"] = zipapp.build(files), stamp
    except (zipapp.ZipappSourceError, OSError) as exc:
        raise errors.ApiError(503, f"cannot build the installer: {exc}") from None
    pyz = cache["pyz"]
    response = _revalidated(pyz.data, "application/zip", etag=pyz.etag)
    response.headers["Content-Disposition"] = "attachment; filename=reins-installer.pyz"
    return response


@bp.get("/v1/install/reins_hook.py")
def hook_client() -> Response:
    from ..installer_zipapp import HOOK_FILE, REPO_ROOT

    try:
        body = (REPO_ROOT / HOOK_FILE).read_bytes()
    except OSError:
        raise errors.ApiError(503, f"{HOOK_FILE} is missing from this server's checkout") from None
    return _revalidated(body, "text/x-python")
