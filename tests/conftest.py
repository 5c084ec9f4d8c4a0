import fcntl
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1337)


from tests.helpers import ROOT  # noqa: E402


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The docs site, built once per session; its folder.

    `S2S_ZOO_SITE=DIR` uses a site already built there instead (for working
    on the docs tests; the suite itself always builds).
    """
    if os.environ.get("S2S_ZOO_SITE"):
        return os.environ["S2S_ZOO_SITE"]
    # Under pytest-xdist every worker asks for the site: the first builds
    # it in the folder the workers share, the others wait for it.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this session's, above the workers' own
    with open(shared / "site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        site_dir = shared / "site"
        if not (site_dir / "index.html").exists():
            _build_site(site_dir)
    return str(site_dir)


def _build_site(site_dir):
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "NO_MKDOCS_2_WARNING": "1",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        # A build runs a tutorial whose kept output is of an older script.
        timeout=1800,
    )
    log = result.stdout + result.stderr
    problems = [
        line
        for line in log.splitlines()
        if line.startswith(("WARNING -", "ERROR -"))
    ]
    assert result.returncode == 0, (
        "mkdocs build --strict failed:\n" + "\n".join(problems or [log[-3000:]])
    )
