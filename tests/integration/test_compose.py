"""docker-compose.yml, the Dockerfile and the configs they mount, checked without a Docker engine.

Debian's docker-compose 1.29 resolves and validates the file (`docker-compose config`); the rest
reads the resolved services and the config files themselves.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.mcp import MCP_PATH
from api.problems import (
    IMAGE_ROUTE,
    MAX_SCRIPT_BODY_BYTES,
    MAX_SOUNDTRACK_BODY_BYTES,
    MAX_UPLOAD_BODY_BYTES,
    SCRIPT_ROUTE,
    SOUNDTRACK_ROUTE,
    UPLOAD_ROUTES,
)
from api.problems import MAX_BODY_BYTES as API_MAX_BODY_BYTES
from api.routes import stream as api_stream
from core.config import Settings, setting_env_names
from core.images import MAX_IMAGE_BYTES
from core.webhook_receiver import MAX_BODY_BYTES
from core.webhook_receiver import PATH as WEBHOOK_PATH
from tests.support import ROOT

pytestmark = pytest.mark.integration

SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "REDIS_PASSWORD": "redis-secret",
    "VEOGEN_COOKIE_KEY": "k" * 40,
    "VEOGEN_SECRET_KEY": base64.urlsafe_b64encode(b"0123456789abcdef0123456789abcdef").decode(),
    "VEOGEN_ADMIN_PASSWORD": "admin-secret-123",
    "VEOGEN_DASHBOARD_PASSWORD": "dashboard-secret-123",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret-123",
}

SERVICES = {
    "postgres", "redis", "migrate", "web", "worker", "scheduler", "exporter", "dashboard", "webhooks", "api",
    "prometheus", "alertmanager", "grafana", "nginx", "loki", "promtail", "node-exporter", "cadvisor",
}  # fmt: skip
APP_SERVICES = {"migrate", "web", "worker", "scheduler", "exporter", "dashboard", "webhooks", "api"}
ONE_SHOT = {"migrate"}
NO_HEALTHCHECK: dict[str, str] = {}
"""Long-running services without a healthcheck, with the reason (none: every image has a way)."""

PUBLISHED = {"nginx": 80, "dashboard": 9181, "grafana": 3000}
"""The only services with published ports, by container port; all bound to 127.0.0.1. Not the webhook
receiver: Google reaches it through nginx."""

METRICS_PORTS = {9630, 9631, 9632, 9633, *range(9640, 9656)}
CONTRACT_SETTINGS = {
    "VEOGEN_LOG_FORMAT", "VEOGEN_METRICS_HOST", "VEOGEN_DASHBOARD_USERNAME", "VEOGEN_DASHBOARD_PASSWORD",
}  # fmt: skip
"""Settings of the monitoring contract the app containers set (core/config.py may not have them yet)."""


def compose(*args: str, env: dict[str, str], env_file: Path) -> subprocess.CompletedProcess[str]:
    """Run docker-compose in the repo with exactly these variables (env_file replaces a local .env)."""
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is installed by `make test` (scripts/system-deps.sh)"
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith(("VEOGEN_", "GRAFANA_"))}
    return subprocess.run(
        [exe, "--env-file", str(env_file), *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def services(env_file: Path) -> dict[str, dict[str, Any]]:
    result = compose("config", env=SECRETS, env_file=env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each host-path volume of a service."""
    mounts = []
    for volume in service.get("volumes", []):
        parts = volume.split(":") if isinstance(volume, str) else [volume["source"], volume["target"], "rw"]
        if parts[0].startswith("/"):
            mounts.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return mounts


def test_compose_file_is_valid_and_complete(services):
    assert set(services) == SERVICES
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_every_image_is_pinned_to_a_version(services):
    for name, service in services.items():
        image = service.get("image", "")
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image!r} is not pinned"


def test_redis_keeps_rq_data_and_wants_a_password(services):
    command = command_text(services["redis"])
    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command
    assert f"--requirepass {SECRETS['REDIS_PASSWORD']}" in command


def test_app_services_run_their_commands(services):
    assert services["migrate"]["command"] == ["veogen", "init"]
    assert services["migrate"]["restart"] == "no"
    assert services["worker"]["command"] == ["veogen", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "veogen", "worker", "--alive"]
    assert services["scheduler"]["command"] == ["veogen", "scheduler"]
    assert services["exporter"]["command"] == ["veogen", "exporter"]
    assert "http://127.0.0.1:9630/metrics" in services["exporter"]["healthcheck"]["test"]
    assert services["dashboard"]["command"] == ["veogen", "dashboard", "--host", "0.0.0.0"]
    # The receiver listens on the compose network (nginx passes Google's deliveries on), not on loopback.
    assert services["webhooks"]["command"] == ["veogen", "webhooks", "serve"]
    assert environment(services["webhooks"])["VEOGEN_WEBHOOK_HOST"] == "0.0.0.0"
    assert f"http://127.0.0.1:{receiver_port()}/healthz" in services["webhooks"]["healthcheck"]["test"]
    assert services["webhooks"]["depends_on"] == services["scheduler"]["depends_on"]
    assert "ports" not in services["webhooks"]
    assert environment(services["dashboard"])["VEOGEN_DASHBOARD_PASSWORD"] == SECRETS["VEOGEN_DASHBOARD_PASSWORD"]
    # The launcher: streamlit_app.py with VeoGen's middleware (framing headers, uploads only when logged in).
    assert command_text(services["web"]).startswith("streamlit run web.py")


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name in ONE_SHOT or name in NO_HEALTHCHECK:
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and check["test"] != ["NONE"] and not check.get("disable"), name
        assert service.get("restart") == "unless-stopped", name


def test_python_healthchecks_compile(services):
    probes = {
        name: s["healthcheck"]["test"]
        for name, s in services.items()
        if "python" in s.get("healthcheck", {}).get("test", [])
    }
    assert set(probes) >= {"web", "scheduler", "exporter", "dashboard", "webhooks", "api"}
    for name, test in probes.items():
        code = test[test.index("-c") + 1]
        compile(code, f"{name} healthcheck", "exec")


def test_every_dependency_waits_on_a_condition(services):
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for dependency, spec in depends_on.items():
            condition = spec.get("condition")
            if dependency in ONE_SHOT:
                assert condition == "service_completed_successfully", (name, dependency)
            else:
                assert condition == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency], (name, dependency)


def test_app_services_log_json_and_serve_metrics_inside_the_network(services):
    known = set(setting_env_names()) | CONTRACT_SETTINGS
    for name in APP_SERVICES:
        env = environment(services[name])
        assert env["VEOGEN_ENV"] == "production", name
        assert env["VEOGEN_LOG_FORMAT"] == "json", name
        assert env["VEOGEN_METRICS_HOST"] == "0.0.0.0", name
        assert env["VEOGEN_SECRET_KEY"] == SECRETS["VEOGEN_SECRET_KEY"], name
        unknown = {k for k in env if k.startswith("VEOGEN_")} - known
        assert not unknown, f"{name} sets variables that are not settings: {unknown}"


def test_published_ports_are_loopback_only_and_never_metrics(services):
    published = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            text = str(port)
            assert text.startswith("127.0.0.1:"), f"{name} publishes {text} beyond loopback"
            container_port = int(text.split(":")[-1].split("/")[0])
            assert container_port not in METRICS_PORTS, f"{name} publishes a metrics port"
            published[name] = container_port
    assert published == PUBLISHED
    assert "127.0.0.1:8080:80" in str(services["nginx"]["ports"][0])


def test_the_studio_port_can_be_moved(env_file: Path):
    result = compose("config", env={**SECRETS, "VEOGEN_HTTP_PORT": "18080"}, env_file=env_file)
    assert result.returncode == 0, result.stderr
    ports = yaml.safe_load(result.stdout)["services"]["nginx"]["ports"]
    assert str(ports[0]).startswith("127.0.0.1:18080:80")


@pytest.mark.parametrize("value", ["missing", "empty"])
@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(secret: str, value: str, env_file: Path):
    env = {k: v for k, v in SECRETS.items() if k != secret}
    if value == "empty":
        env[secret] = ""
    result = compose("config", "-q", env=env, env_file=env_file)
    assert result.returncode != 0
    assert secret in result.stderr


def test_every_file_mounted_from_the_repo_exists(services):
    mounted = [(name, src) for name, s in services.items() for src, _, _ in bind_mounts(s) if src.startswith(str(ROOT))]
    assert mounted, "no repo files mounted"
    missing = [f"{name}: {Path(src).relative_to(ROOT)}" for name, src in mounted if not Path(src).exists()]
    assert not missing, f"mounted but missing: {missing}"


def test_monitoring_configs_are_mounted_where_the_images_read_them(services):
    def targets(name: str) -> dict[str, tuple[str, str]]:
        return {target: (str(Path(src).relative_to(ROOT)) if src.startswith(str(ROOT)) else src, mode)
                for src, target, mode in bind_mounts(services[name])}  # fmt: skip

    assert targets("prometheus")["/etc/prometheus/prometheus.yml"] == ("monitoring/prometheus.yml", "ro")
    assert targets("prometheus")["/etc/prometheus/rules"] == ("monitoring/rules", "ro")
    assert targets("alertmanager")["/etc/alertmanager/alertmanager.yml"] == ("monitoring/alertmanager.yml", "ro")
    assert targets("grafana")["/etc/grafana/provisioning"] == ("monitoring/grafana/provisioning", "ro")
    assert targets("grafana")["/var/lib/grafana/dashboards"] == ("monitoring/grafana/dashboards", "ro")
    assert targets("nginx")["/etc/nginx/conf.d/default.conf"] == ("monitoring/nginx/veogen.conf", "ro")
    assert targets("loki")["/etc/loki/loki.yml"] == ("monitoring/loki/loki.yml", "ro")
    assert targets("promtail")["/etc/promtail/promtail.yml"] == ("monitoring/promtail/promtail.yml", "ro")
    assert targets("promtail")["/var/run/docker.sock"] == ("/var/run/docker.sock", "ro")


def test_grafana_wants_a_password_and_no_anonymous_users(services):
    env = environment(services["grafana"])
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == SECRETS["GRAFANA_ADMIN_PASSWORD"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"


def receiver_port() -> int:
    """The receiver's port in the containers (VEOGEN_WEBHOOK_PORT is left at its default there)."""
    return Settings.model_fields["webhook_port"].default  # type: ignore[no-any-return]


def nginx_conf() -> str:
    return (ROOT / "monitoring" / "nginx" / "veogen.conf").read_text()


def nginx_blocks(conf: str) -> tuple[str, dict[str, str]]:
    """The server block's own directives (its locations cut out) and each location's body, comments dropped.

    A location's body includes the blocks nested in it one level deep (an ``if``).
    """
    text = re.sub(r"#[^\n]*", "", conf)
    server = text[text.index("server {") :]
    locations: dict[str, str] = {}
    own = server
    for found in re.finditer(r"location\s+([^{]+?)\s*\{((?:[^{}]|\{[^{}]*\})*)\}", server):
        locations[found.group(1)] = found.group(2)
        own = own.replace(found.group(0), "")
    return own, locations


def directives(block: str, name: str) -> list[str]:
    """The arguments of each `name ...;` directive in a block of nginx config."""
    return [m.group(1).strip() for m in re.finditer(rf"(?:^|[;{{}}\s]){name}\s+([^;]*);", block)]


def megabytes(size: str) -> float:
    """An nginx size (`21m`, `512k`, `1048576`) in MiB."""
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", size).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit.lower()] / 2**20


def streamlit_max_upload_mb() -> int:
    return int(tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"])


def test_nginx_proxies_the_streamlit_websocket():
    conf = nginx_conf()
    stream = conf.split("location /_stcore/stream", 1)[1].split("}", 1)[0]
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in stream
    assert "proxy_set_header Connection $connection_upgrade;" in stream
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{[^}]*default\s+upgrade;", conf)
    # Streamlit compares Origin (with port) to Host, so Host must keep the port the browser used.
    assert "proxy_set_header Host $http_host;" in stream
    timeout = re.search(r"proxy_read_timeout (\d+)([smhd]);", stream)
    assert timeout and int(timeout.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[timeout.group(2)] >= 3600


def test_streamlit_takes_no_larger_uploads_than_the_studio_accepts():
    # Streamlit keeps each upload in the web process's memory for any page session (logged in or not);
    # a widget's max_upload_size is enforced by the browser only, server.maxUploadSize by the server,
    # which compares it with the whole multipart body: the largest image plus at most 1 MiB of framing.
    assert MAX_IMAGE_BYTES < streamlit_max_upload_mb() * 2**20 <= MAX_IMAGE_BYTES + 2**20


def test_nginx_takes_bodies_only_on_the_upload_path_and_as_large_as_streamlit_does():
    server, locations = nginx_blocks(nginx_conf())
    assert [megabytes(v) for v in directives(server, "client_max_body_size")] == [1]
    upload = locations["/_stcore/upload_file/"]
    (size,) = directives(upload, "client_max_body_size")
    # One image of the largest size accepted with its multipart framing; no more than Streamlit takes.
    assert MAX_IMAGE_BYTES / 2**20 < megabytes(size) <= streamlit_max_upload_mb()
    assert "proxy_request_buffering off" in upload, "uploads stream through instead of filling nginx's temp files"
    for spec, body in locations.items():
        if spec not in ("/_stcore/upload_file/", f"= {WEBHOOK_PATH}") and "$api" not in body:  # the API's: below
            assert not directives(body, "client_max_body_size"), spec


def test_nginx_passes_only_webhook_posts_to_the_receiver():
    server, locations = nginx_blocks(nginx_conf())
    assert directives(server, "set") == [
        "$streamlit http://web:8501",
        f"$webhooks http://webhooks:{receiver_port()}",
        f"$api http://api:{api_port()}",
    ]
    hook = locations[f"= {WEBHOOK_PATH}"]
    assert directives(hook, "proxy_pass") == ["$webhooks"]
    assert [spec for spec, body in locations.items() if "$webhooks" in body] == [f"= {WEBHOOK_PATH}"]
    assert re.search(r"if\s*\(\$request_method\s*!=\s*POST\)\s*\{\s*return\s+405;\s*\}", hook)
    # As large as the receiver reads (MAX_BODY_BYTES), kept whole in memory and sent on once complete.
    (size,) = directives(hook, "client_max_body_size")
    assert megabytes(size) * 2**20 == MAX_BODY_BYTES
    (buffer,) = directives(hook, "client_body_buffer_size")
    assert megabytes(buffer) >= megabytes(size)
    assert not directives(hook, "proxy_request_buffering")
    # Host and the client's address as for the studio: the server's proxy_set_header lines, inherited.
    assert not directives(hook, "proxy_set_header")
    assert "X-Forwarded-For $remote_addr" in directives(server, "proxy_set_header")


def api_port() -> int:
    """The API's port in the containers (VEOGEN_API_PORT is left at its default there)."""
    return Settings.model_fields["api_port"].default  # type: ignore[no-any-return]


API_PREFIX = "/api"
STREAM_LOCATION = "~ ^/api/v1/(generations|movies)/[^/]+/stream$"
UPLOADS_LOCATION = "~ ^/api/v1/(generations|quotes)$"
FILM_IMAGES_LOCATION = "~ ^/api/v1/movies/[^/]+/(characters|start-images)$"
SOUNDTRACK_LOCATION = "~ ^/api/v1/movies/[^/]+/soundtrack$"
SCRIPT_LOCATION = f"= {API_PREFIX}{SCRIPT_ROUTE[1]}"


def api_locations() -> dict[str, str]:
    """The nginx locations that pass requests on to the API, by their spec."""
    _, locations = nginx_blocks(nginx_conf())
    return {spec: body for spec, body in locations.items() if "$api" in body}


def test_the_api_runs_in_its_own_service_behind_nginx(services):
    api = services["api"]
    assert api["command"] == ["veogen", "api", "--host", "0.0.0.0"]
    assert api["image"] == services["web"]["image"]
    assert f"http://127.0.0.1:{api_port()}/healthz" in api["healthcheck"]["test"]
    assert api["depends_on"] == services["scheduler"]["depends_on"]
    assert "ports" not in api, "reached through nginx only"
    env = environment(api)
    # nginx strips /api; the root path makes /api/docs load /api/openapi.json and names the document's server.
    assert env["VEOGEN_API_ROOT_PATH"] == API_PREFIX
    # The password login counts failures per client: X-Forwarded-For from nginx's networks, as for the page.
    assert env["VEOGEN_TRUSTED_PROXIES"] == environment(services["web"])["VEOGEN_TRUSTED_PROXIES"]
    # nginx looks the API up per request: a down API does not keep the studio's front door shut.
    assert "api" not in services["nginx"].get("depends_on", {})


def test_nginx_serves_the_api_under_api_with_its_prefix_stripped():
    locations = api_locations()
    assert set(locations) == {
        f"{API_PREFIX}/",
        UPLOADS_LOCATION,
        FILM_IMAGES_LOCATION,
        SOUNDTRACK_LOCATION,
        SCRIPT_LOCATION,
        STREAM_LOCATION,
        f"= {API_PREFIX}{MCP_PATH}",
    }
    for spec, body in locations.items():
        assert directives(body, "rewrite") == [rf"^{API_PREFIX}(/.*)$ $1 break"], spec
        assert directives(body, "proxy_pass") == ["$api"], spec
        # Host and the client's address as for the studio: the server's proxy_set_header lines, inherited.
        assert not directives(body, "proxy_set_header"), spec
    # Every live stream of the API goes to the unbuffered location, and nothing else does.
    pattern = STREAM_LOCATION.removeprefix("~ ")
    for route in api_stream.router.routes:
        path = re.sub(r"\{[^}]+\}", "123", route.path)  # type: ignore[attr-defined]
        assert re.search(pattern, f"{API_PREFIX}/v1{path}"), path
    assert not re.search(pattern, f"{API_PREFIX}/v1/generations/123/events")
    # Every route that takes images goes to the location with the larger body size, and only those.
    uploads = UPLOADS_LOCATION.removeprefix("~ ")
    for _, path in UPLOAD_ROUTES:
        assert re.search(uploads, f"{API_PREFIX}{path}"), path
    for path in ("/v1/generations/123", "/v1/generations/123/retry", "/v1/movies", "/v1/webhooks"):
        assert not re.search(uploads, f"{API_PREFIX}{path}"), path
    # A film's images and music go to their own larger locations, matched as the API matches them.
    for pattern, location in ((IMAGE_ROUTE, FILM_IMAGES_LOCATION), (SOUNDTRACK_ROUTE, SOUNDTRACK_LOCATION)):
        for path in ("/v1/movies/abc123/characters", "/v1/movies/abc123/start-images", "/v1/movies/abc123/soundtrack"):
            assert bool(pattern.fullmatch(path)) == bool(re.search(location.removeprefix("~ "), f"{API_PREFIX}{path}"))


def test_nginx_takes_the_apis_body_sizes():
    locations = api_locations()
    sizes = {
        spec: [megabytes(v) * 2**20 for v in directives(body, "client_max_body_size")]
        for spec, body in locations.items()
    }
    for spec, limits in sizes.items():
        if spec in (UPLOADS_LOCATION, FILM_IMAGES_LOCATION, SOUNDTRACK_LOCATION):
            # Images (three of 20 MiB) or music as multipart: as large as the API takes with the framing, no more.
            most = MAX_SOUNDTRACK_BODY_BYTES if spec == SOUNDTRACK_LOCATION else MAX_UPLOAD_BODY_BYTES
            (limit,) = limits
            assert most <= limit < most + 2**20, spec
            assert "proxy_request_buffering off" in locations[spec], "uploads stream through, not into temp files"
        elif spec == SCRIPT_LOCATION:
            (limit,) = limits
            assert MAX_SCRIPT_BODY_BYTES <= limit < MAX_SCRIPT_BODY_BYTES + 2**20, spec
        else:
            assert limits == [API_MAX_BODY_BYTES], f"{spec}: JSON bodies of the API's 64 KiB"


def test_nginx_passes_the_apis_live_streams_unbuffered():
    locations = api_locations()
    for spec in (STREAM_LOCATION, f"= {API_PREFIX}{MCP_PATH}"):
        assert directives(locations[spec], "proxy_buffering") == ["off"], spec
    (timeout,) = directives(locations[STREAM_LOCATION], "proxy_read_timeout")
    number, unit = re.fullmatch(r"(\d+)([smhd])", timeout).groups()  # type: ignore[union-attr]
    seconds = int(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    # Longer than a quiet stream's silence (a heartbeat comment) and as long as a stream stays open.
    assert seconds >= api_stream.MAX_STREAM_SECONDS > api_stream.HEARTBEAT_SECONDS


def test_nginx_limits_uploads_per_client_address():
    conf = re.sub(r"#[^\n]*", "", nginx_conf())
    _, locations = nginx_blocks(nginx_conf())
    upload = locations["/_stcore/upload_file/"]
    keys = dict(re.findall(r"map \$request_method (\$\w+) \{[^}]*PUT\s+(\$\w+);", conf))

    def keyed_by_client(key: str) -> bool:
        return key == "$binary_remote_addr" or keys.get(key) == "$binary_remote_addr"

    req_zones = {m[1]: (m[0], m[2]) for m in re.findall(r"limit_req_zone\s+(\S+)\s+zone=(\w+):\S+\s+rate=(\S+);", conf)}
    conn_zones = {m[1]: m[0] for m in re.findall(r"limit_conn_zone\s+(\S+)\s+zone=(\w+):\S+;", conf)}
    (limit_req,) = directives(upload, "limit_req")
    zone = re.search(r"zone=(\w+)", limit_req).group(1)  # type: ignore[union-attr]
    key, rate = req_zones[zone]
    assert keyed_by_client(key), f"limit_req zone {zone} is keyed by {key}, not the client address"
    per_minute = int(rate[:-3]) * (60 if rate.endswith("r/s") else 1)
    burst = int(re.search(r"burst=(\d+)", limit_req).group(1))  # type: ignore[union-attr]
    assert per_minute <= 10 and burst <= 10, "a client address parks at most a few hundred MB at once"
    (limit_conn,) = directives(upload, "limit_conn")
    conn_zone, most = limit_conn.split()
    assert keyed_by_client(conn_zones[conn_zone]) and 3 <= int(most) <= 8
    assert directives(upload, "limit_req_status") == ["429"] and directives(upload, "limit_conn_status") == ["429"]
    # The real client address: nginx takes it from the host proxy's X-Forwarded-For.
    assert "real_ip_header X-Forwarded-For;" in conf


FRAMING_HEADERS = {"Content-Security-Policy": "\"frame-ancestors 'self'\"", "X-Frame-Options": '"SAMEORIGIN"'}


def test_nginx_forbids_other_sites_to_frame_the_studio():
    server, locations = nginx_blocks(nginx_conf())
    sent = {h.split(None, 1)[0]: h.split(None, 1)[1] for h in directives(server, "add_header")}
    for name, value in FRAMING_HEADERS.items():
        assert sent.get(name) == f"{value} always", f"{name} is not sent on every answer (errors included)"
    # Streamlit behind it (web.py) sends them too: nginx passes on its own copy only.
    assert set(FRAMING_HEADERS) <= set(directives(server, "proxy_hide_header"))
    for spec, body in locations.items():
        # nginx drops the server's add_header (and proxy_hide_header) lines in a location that has its own.
        assert not directives(body, "add_header"), f"location {spec} would drop the framing headers"
        assert not directives(body, "proxy_hide_header"), f"location {spec} would pass Streamlit's copies on"


def test_nginx_hides_streamlits_metrics():
    # /_stcore/metrics tells anyone the sessions and the bytes held for uploads; nginx answers it itself.
    _, locations = nginx_blocks(nginx_conf())
    assert directives(locations["= /_stcore/metrics"], "return") == ["404"]
    assert not directives(locations["= /_stcore/metrics"], "proxy_pass")


def test_grafana_refuses_to_be_framed(services):
    assert environment(services["grafana"])["GF_SECURITY_ALLOW_EMBEDDING"] == "false"  # X-Frame-Options: deny


def test_promtail_reads_docker_and_labels_service_and_level():
    config = yaml.safe_load((ROOT / "monitoring" / "promtail" / "promtail.yml").read_text())
    assert config["clients"][0]["url"] == "http://loki:3100/loki/api/v1/push"
    (job,) = config["scrape_configs"]
    assert job["docker_sd_configs"][0]["host"] == "unix:///var/run/docker.sock"
    relabel = {r["target_label"]: r["source_labels"] for r in job["relabel_configs"]}
    assert relabel["service"] == ["__meta_docker_container_label_com_docker_compose_service"]
    stages = [stage for match in job["pipeline_stages"] for stage in match["match"]["stages"]]
    by_kind = {kind: body for stage in stages for kind, body in stage.items()}
    assert {"level", "generation_id"} <= set(by_kind["json"]["expressions"])
    assert "level" in by_kind["labels"]
    assert "generation_id" in by_kind["structured_metadata"]
    assert "generation_id" not in by_kind["labels"], "one label value per generation would explode the index"


def test_loki_keeps_structured_metadata():
    config = yaml.safe_load((ROOT / "monitoring" / "loki" / "loki.yml").read_text())
    assert config["server"]["http_listen_port"] == 3100
    schema = config["schema_config"]["configs"][-1]
    assert (schema["store"], schema["schema"]) == ("tsdb", "v13")
    assert config["limits_config"]["allow_structured_metadata"] is True
    assert config["common"]["path_prefix"] == "/loki"


def installed_packages() -> set[str]:
    """The top-level packages pyproject.toml installs: the image must copy every one of them."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    return {name.split(".")[0] for name in packages}


def test_dockerfile_is_multi_stage_pinned_and_non_root():
    text = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(bases) >= 2, "build and runtime stages"
    for base in bases:
        assert re.search(r":\d[\w.-]*$", base) and "latest" not in base, f"unpinned base image {base}"
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*_stcore/health", text, re.MULTILINE)
    for path in (*installed_packages(), "pages", "streamlit_app.py", "web.py", ".streamlit"):
        assert re.search(rf"^COPY .*[ /]{re.escape(path)}(\s|/|$)", text, re.MULTILINE), f"{path} is not copied"
    assert re.search(r'^CMD \["streamlit", "run", "web.py"', text, re.MULTILINE), "the image starts the launcher"


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "data", ".git", ".env", "tests", "**/__pycache__", ".pytest_cache"} <= ignored
    needed = {*installed_packages(), "pages", "streamlit_app.py", "web.py", ".streamlit", "README.md"}
    assert not ignored & needed
