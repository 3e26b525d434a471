"""The import boundaries of ARCHITECTURE.md, as tests: pages → core ← workers, api → core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(*parts: str) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        target = ROOT / part
        files.extend([target] if target.is_file() else sorted(target.rglob("*.py")))
    return files


def offending(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in files:
        for name in imports_of(path):
            if name.split(".")[0] in forbidden or name in forbidden:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_core_never_imports_ui_or_workers():
    forbidden = ("streamlit", "pages", "workers", "streamlit_authenticator", "api")
    assert offending(python_files("core"), forbidden) == []


API_MAY_IMPORT = {"api", "core", "fastapi", "jwt", "limits", "mcp", "pydantic", "starlette", "uvicorn"}
"""What the REST API package may import besides the standard library."""


API_CLIENT = {ROOT / "api/client.py", ROOT / "api/commands.py", ROOT / "api/batch.py"}
"""The API's client (``veogen generate``, ``veogen batch``): it speaks HTTP, so it runs wherever the API is reachable."""

CLIENT_MAY_IMPORT = {"api.batch", "api.client", "api.commands", "core.config", "httpx", "rich"}
"""What the client may import besides the standard library: HTTP, the terminal, and the settings (the API's URL)."""


def test_the_api_client_speaks_only_http():
    foreign = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in API_CLIENT
        for name in imports_of(path)
        if name not in CLIENT_MAY_IMPORT
        and name.split(".")[0] not in CLIENT_MAY_IMPORT
        and name.split(".")[0] not in sys.stdlib_module_names
    )
    assert foreign == []


def test_api_only_talks_to_core():
    files = [path for path in python_files("api") if path not in API_CLIENT]
    assert len(files) >= 5
    foreign = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imports_of(path)
        if name.split(".")[0] not in API_MAY_IMPORT and name.split(".")[0] not in sys.stdlib_module_names
    )
    assert foreign == []


def test_pages_never_import_the_api():
    assert offending(python_files("pages", "streamlit_app.py", "web.py", "workers"), ("api",)) == []


def test_pages_only_talk_to_core():
    files = python_files("pages", "streamlit_app.py")
    assert len(files) >= 4
    forbidden = ("sqlalchemy", "rq", "redis", "cv2", "av", "workers", "alembic", "psycopg")
    assert offending(files, forbidden) == []
    assert [f for f in files for n in imports_of(f) if n.startswith("google.genai")] == []


GOOGLE_ADAPTERS = {"google.py", "veo.py", "omni.py", "google_webhooks.py"}
"""The modules of core/providers that may import google-genai."""


def test_only_the_google_adapters_import_google_genai():
    files = [
        f
        for f in python_files("core", "workers", "pages")
        if not (f.name in GOOGLE_ADAPTERS and f.parent.name == "providers")
    ]
    assert [str(f) for f in files if any(n.startswith("google.genai") or n == "google" for n in imports_of(f))] == []


def test_the_web_side_of_core_loads_no_heavy_media_or_sdk_modules():
    code = (
        "import sys; import core.studio, core.services.generations, core.catalog, core.providers; "
        "heavy = [m for m in ('av', 'cv2', 'google.genai', 'numpy', 'PIL', 'workers') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def job_paths() -> dict[str, str]:
    """Every job constant in core (a module-level ``*_JOB = "dotted.path"``), by ``module.NAME``."""
    found = {}
    for path in python_files("core"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id.endswith("_JOB"):
                        found[f"{module}.{target.id}"] = node.value.value
    return found


def test_jobs_are_enqueued_by_dotted_paths_that_exist():
    from core.queue import POLL_JOB
    from core.webhooks import EVENT_JOB

    paths = job_paths()
    assert {"core.queue.POLL_JOB": POLL_JOB, "core.webhooks.EVENT_JOB": EVENT_JOB}.items() <= paths.items()
    # In a fresh interpreter, as a worker resolves them: each names a callable in workers/.
    code = (
        "import importlib, sys; "
        f"paths = {sorted(set(paths.values()))!r}; "
        "found = [getattr(importlib.import_module(p.rsplit('.', 1)[0]), p.rsplit('.', 1)[1]) for p in paths]; "
        "sys.exit(0 if all(callable(f) for f in found) else 1)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    assert all(p.startswith("workers.") for p in paths.values()), paths


NOUN_CLASSES = {
    "Generations": "core/generations.py",
    "Accounts": "core/accounts.py",
    "QueueAdmin": "core/queue_admin.py",
    "Analytics": "core/analytics.py",
    "Pipeline": "core/pipeline.py",
    "Admission": "core/admission.py",
    "Reconciler": "core/reconciler.py",
    "ProviderRegistry": "core/providers/registry.py",
    "Webhooks": "core/webhooks.py",
    "Movies": "core/movies.py",
    "Tokens": "core/tokens.py",
    "OutgoingWebhooks": "core/outgoing.py",
}
"""The classes that own transactions (or provider access), and where each lives: one owner per noun."""


def calls_in(path: Path) -> set[str]:
    """Names called in ``path`` (``Name(...)`` and ``x.Name(...)``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else "")
    return names


def test_services_take_a_session_and_never_commit():
    """Functions in core/services never commit, begin or open a session: only the noun classes do."""
    bad = []
    for path in python_files("core/services"):
        source = path.read_text()
        for needle in (".commit(", "transaction(", "sessions()", ".begin("):
            if needle in source:
                bad.append(f"{path.relative_to(ROOT)} contains {needle}")
    assert bad == []


def test_services_take_the_session_keyword_only():
    """A public function of core/services that takes a session takes it by name: the caller owns it."""
    positional = []
    for path in python_files("core/services"):
        for node in ast.parse(path.read_text()).body:
            public = isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
            if public and "session" in [a.arg for a in node.args.posonlyargs + node.args.args]:
                positional.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert positional == []


def test_only_the_wiring_module_constructs_the_noun_classes():
    for name, home in NOUN_CLASSES.items():
        assert f"class {name}" in (ROOT / home).read_text(), f"{name} is not in {home}"
    builders = [
        f"{path.relative_to(ROOT)} builds {name}"
        for path in python_files("core", "workers", "pages", "api", "streamlit_app.py", "web.py")
        if path != ROOT / "core/studio.py"
        for name in calls_in(path) & NOUN_CLASSES.keys()
    ]
    assert builders == []


def test_the_studio_is_wiring_only():
    """No method and no cache: a frozen record of what build_studio wired."""
    tree = ast.parse((ROOT / "core/studio.py").read_text())
    studio = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Studio")
    assert [n.name for n in studio.body if isinstance(n, ast.FunctionDef)] == []
    assert len((ROOT / "core/studio.py").read_text().splitlines()) <= 120


def test_core_has_no_import_circle():
    """Walk core's own imports (module level and lazy ones alike) and fail on any cycle."""
    graph: dict[str, set[str]] = {}
    for path in python_files("core"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from core import media
        graph[module] = {n for n in names if n.startswith("core.")}

    def resolve(name: str) -> str | None:
        while name and name not in graph:
            name = name.rpartition(".")[0]
        return name or None

    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(filter(None, (resolve(n) for n in graph[module]))):
            if target == module or target == "core":
                continue
            if state.get(target) == 1:
                cycles.append(" → ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
