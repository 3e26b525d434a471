"""The import boundaries of ARCHITECTURE.md, as tests: pages → core ← workers."""

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
    assert offending(python_files("core"), ("streamlit", "pages", "workers", "streamlit_authenticator")) == []


def test_pages_only_talk_to_core():
    files = python_files("pages", "streamlit_app.py")
    assert len(files) >= 4
    forbidden = ("sqlalchemy", "rq", "redis", "cv2", "av", "workers", "alembic", "psycopg")
    assert offending(files, forbidden) == []
    assert [f for f in files for n in imports_of(f) if n.startswith("google.genai")] == []


def test_only_the_veo_adapter_imports_google_genai():
    files = [f for f in python_files("core", "workers", "pages") if f.name != "veo.py"]
    assert [str(f) for f in files if any(n.startswith("google.genai") or n == "google" for n in imports_of(f))] == []


def test_the_web_side_of_core_loads_no_heavy_media_or_sdk_modules():
    code = (
        "import sys; import core.studio, core.services.generations, core.catalog, core.providers; "
        "heavy = [m for m in ('av', 'cv2', 'google.genai', 'numpy', 'PIL', 'workers') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_jobs_are_enqueued_by_dotted_paths_that_exist():
    from core.queue import POLL_JOB

    code = f"import importlib; [getattr(importlib.import_module(p.rsplit('.', 1)[0]), p.rsplit('.', 1)[1]) for p in {[POLL_JOB]!r}]"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
