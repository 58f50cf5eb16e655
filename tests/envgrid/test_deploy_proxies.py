"""deploy/nginx and deploy/caddy: the proxies' own checkers accept the examples (when
installed), the upload limit admits what envgrid admits, and the SSE route is unbuffered."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.certs import self_signed
from tests.conftest import REPO_ROOT
from web.casework.kernel.settings import CaseSettings

NGINX = REPO_ROOT / "deploy" / "nginx" / "envgrid.conf"
CADDY = REPO_ROOT / "deploy" / "caddy" / "Caddyfile"
MIB = 1024 * 1024
#: What one complaint may carry with the default settings (the largest upload).
LARGEST_UPLOAD = CaseSettings().complaint_max_photos * CaseSettings().upload_max_bytes


def nginx_location(text: str, path: str) -> str:
    match = re.search(rf"location {re.escape(path)} \{{(.*?)\n    \}}", text, re.S)
    assert match, path
    return match.group(1)


def test_nginx_lets_the_largest_upload_through_and_streams_sse_unbuffered() -> None:
    text = NGINX.read_text(encoding="utf-8")
    (size,) = re.findall(r"client_max_body_size (\d+)m;", text)
    assert int(size) * MIB >= LARGEST_UPLOAD + 2 * MIB
    live = nginx_location(text, "/api/v1/live")
    assert "proxy_buffering off;" in live and "gzip off;" in live
    assert "proxy_read_timeout 1h;" in live
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in text
    assert "web.trusted_proxies" in text
    assert "server 127.0.0.1:8080;" in text


def test_caddy_lets_the_largest_upload_through_and_streams_sse_unbuffered() -> None:
    text = CADDY.read_text(encoding="utf-8")
    (size,) = re.findall(r"max_size (\d+)MiB", text)
    assert int(size) * MIB >= LARGEST_UPLOAD + 2 * MIB
    assert "@live path /api/v1/live" in text and "flush_interval -1" in text
    assert "@compressible not path /api/v1/live" in text
    assert "web.trusted_proxies" in text


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    site = NGINX.read_text(encoding="utf-8")
    site = re.sub(r"ssl_certificate +\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key +\S+;", f"ssl_certificate_key {key};", site)
    (tmp_path / "envgrid.conf").write_text(site, encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  include {tmp_path}/envgrid.conf;\n}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy not installed")
def test_caddy_accepts_the_example() -> None:
    done = subprocess.run(
        ["caddy", "validate", "--config", str(CADDY), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr
    assert "not formatted" not in done.stderr
