"""The package as a user installs it: a built wheel (not editable) in a fresh venv, `newsdigest run` from elsewhere.

The wheel is built offline (`pip wheel --no-deps --no-build-isolation`, with the hatchling of the dev extras) and
installed with `--no-deps --no-index` into a venv of its own. That venv sees the project's dependencies through
a `.pth` line naming this venv's site-packages: a `.pth` line only adds the folder to `sys.path`, so the `.pth`
files inside it (the editable install's, which points at `src/`) are not read, and `newsdigest` comes from the
wheel. The test checks that it does, that the wheel carries its templates and data and no `flows` package, and
that the installed command writes the seed digest from a folder that is not the repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow

GOLDEN = ROOT / "tests" / "golden" / "seeds-2025-04-16.md"
DATE = "2025-04-16"  # the seeds' pinned [digest] date


def _run(
    command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    """The command's output; fails the test with both streams when it failed."""
    assert done.returncode == 0, (
        f"{' '.join(map(str, done.args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def _clean_environment(home: Path, venv: Path) -> dict[str, str]:
    """The environment of a user's shell with the new venv activated: none of this session's Prefect or Python
    settings, no telemetry, and 127.0.0.1 (the run's temporary Prefect server) never through a proxy."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_") and key not in drop}
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY", env.get("no_proxy", "")), "127.0.0.1", "localhost"]))
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    }
    return env


def _story_titles(markdown: str) -> list[str]:
    return re.findall(r"^## \d+\. (.+)$", markdown, flags=re.MULTILINE)


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


def _build_wheel(out: Path) -> Path:
    done = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), "."],
        cwd=ROOT,
        env=dict(os.environ),
    )
    _ok(done)
    wheels = list(out.glob("newsdigest-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _check_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    top = {name.split("/", 1)[0] for name in names}
    assert {entry for entry in top if not entry.endswith(".dist-info")} == {"newsdigest"}, sorted(top)
    assert not any(name.startswith("flows/") for name in names)
    templates = {f"newsdigest/digest/digest_templates/{path.name}" for path in (ROOT / "digest_templates").iterdir()}
    assert templates <= names, sorted(templates - names)
    package = ROOT / "src" / "newsdigest"
    data = {"newsdigest/" + path.relative_to(package).as_posix() for path in _files(package)}
    assert data - names == set(), "files of src/newsdigest missing from the wheel"
    assert any(name.startswith("newsdigest/claims/weights/") for name in names)


def _make_venv(venv: Path) -> Path:
    """A venv with no packages of its own that finds this venv's installed dependencies; returns its python."""
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent, env=dict(os.environ)))
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_ok(_run([str(python), "-c", where], cwd=venv.parent, env=dict(os.environ))).strip())
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "project_dependencies.pth").write_text("".join(f"{path}\n" for path in ours), encoding="utf-8")
    return python


def test_the_built_wheel_installs_and_runs_the_seeds_from_another_folder(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "wheel")
    _check_wheel_contents(wheel)

    venv = tmp_path / "venv"
    python = _make_venv(venv)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_environment(tmp_path / "prefect", venv)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)]
    _ok(_run(pip, cwd=work, env=env))

    # The installed copy is the one imported, and it finds the templates it carries, not the checkout's.
    probe = (
        "import newsdigest\n"
        "from newsdigest.digest.render import default_templates_dir\n"
        "print(newsdigest.__file__)\n"
        "print(default_templates_dir())\n"
    )
    module, templates = _ok(_run([str(python), "-c", probe], cwd=work, env=env)).splitlines()
    assert Path(module).is_relative_to(venv), module
    assert Path(templates).is_relative_to(venv) and Path(templates, "digest.md.j2").is_file(), templates

    # flows/ is a folder of the repository (prefect.yaml names it), not a package the wheel installs.
    flows = _run([str(python), "-c", "import flows"], cwd=work, env=env)
    assert flows.returncode != 0 and "ModuleNotFoundError" in flows.stderr, flows.stderr

    seeds_before = _files(SEEDS)
    out, state = tmp_path / "digests", tmp_path / "state.sqlite"
    command = [str(venv / "bin" / "newsdigest"), "run", "--config", str(SEEDS / "sources.toml")]
    command += ["--out", str(out), "--state", str(state), "-q"]
    printed = _ok(_run(command, cwd=work, env=env, timeout=600))

    assert printed.strip().splitlines()[-1] == str(out / f"{DATE}.md")
    for suffix in ("md", "html", "txt", "json"):
        assert (out / f"{DATE}.{suffix}").is_file(), f"no {DATE}.{suffix} in {sorted(p.name for p in out.iterdir())}"
    titles = _story_titles((out / f"{DATE}.md").read_text(encoding="utf-8"))
    assert titles == _story_titles(GOLDEN.read_text(encoding="utf-8"))
    assert len(titles) >= 15
    assert _files(SEEDS) == seeds_before, "the run wrote into the seeds folder"
    assert not list(work.iterdir()), "the run wrote into the folder it was started from"
