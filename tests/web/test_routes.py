"""Serving the web client: public page shells, cacheable versioned assets, strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

from ballsy.web.routes import PAGE_CSP, STATIC_DIR, build_id
from tests.security.conftest import running, secure_settings


async def test_pages_are_public_and_data_is_not(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path)) as (_app, http):
        for path in ("/", "/admin"):
            page = await http.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
            assert page.headers["content-security-policy"] == PAGE_CSP
            assert page.headers["x-frame-options"] == "DENY"
            assert "{{" not in page.text  # every placeholder filled
        assert (await http.get("/api/admin/analytics")).status_code == 401
        assert (await http.get("/api/history")).status_code == 401


async def test_the_client_page_carries_limits_and_escaped_values(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path, max_command_length=321)) as (_app, http):
        page = (await http.get("/")).text
    assert 'maxlength="321"' in page and 'data-max-command="321"' in page
    voices = re.search(r'data-voices="([^"]*)"', page)
    assert voices and "&quot;hibari&quot;" in voices.group(1)  # JSON, attribute-escaped
    assert f"/static/{build_id()}/js/app.js" in page


async def test_versioned_assets_are_immutable_others_revalidate(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path)) as (_app, http):
        versioned = await http.get(f"/static/{build_id()}/js/app.js")
        assert versioned.status_code == 200
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert versioned.headers["content-type"].startswith(
            ("text/javascript", "application/javascript")
        )
        plain = await http.get("/static/css/app.css")
        assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
        again = await http.get(
            "/static/css/app.css", headers={"If-None-Match": plain.headers["etag"]}
        )
        assert again.status_code == 304
        assert (await http.get("/static/nope.js")).status_code == 404
        assert (await http.get("/static/..%2f..%2fconfig.py")).status_code == 404
        assert (await http.post("/static/css/app.css")).status_code == 405


def test_build_id_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("one")
    first = build_id.__wrapped__(tmp_path)
    (tmp_path / "a.js").write_text("two")
    assert build_id.__wrapped__(tmp_path) != first
    assert len(build_id()) == 12 and (STATIC_DIR / "index.html").is_file()


async def test_a_realtime_instance_serves_no_pages(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path, server_role="realtime")) as (_app, http):
        assert (await http.get("/")).status_code == 404
        assert (await http.get(f"/static/{build_id()}/js/app.js")).status_code == 404


def test_every_asset_is_a_module_or_style_with_no_inline_code() -> None:
    for page in ("index.html", "admin.html"):
        html = (STATIC_DIR / page).read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"
        assert not re.search(r"\sstyle=", html), "inline style"
        assert 'type="module"' in html
    assert not list(STATIC_DIR.rglob("*.map")), "no build output belongs here"
