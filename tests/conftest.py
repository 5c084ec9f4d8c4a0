import fcntl
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The same TensorFlow thread pools in every test process, whatever
# `--threads auto` would pick on the machine (otherwise a worker's pools
# would depend on whether its first TensorFlow op came from a training
# run, which applies `auto`): one intra-op thread and two inter-op
# threads. The two xdist workers (and the processes they start) share
# two cores; with TensorFlow's default pools every op of each was split
# over both, waiting on the other's ops: tests/models and
# tests/test_cli_verbs.py took 213 s with the default pools, 180 s so.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")
# One JAX compilation cache for the session's processes (both xdist
# workers and the jobs they start, which inherit the environment): the
# distributed tests start the same JAX programs in process after process,
# and each compiled them again (a killed-and-resumed job's test took 127
# s without the cache, 90 s with it, starting empty). Programs are keyed
# by their HLO and JAX's version, so a hit is the same program.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(
        tempfile.gettempdir(),
        "s2s_zoo-jax-cache-"
        + os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid())),
    ),
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# XLA's programs here are tiny models compiled once each, mostly op by
# op (eager JAX): compiling is most of their time, running them next to
# nothing. LLVM's optimisation level 0 halves a compile (the JAX pass of
# the models' tests: 84 -> 60 s) and leaves the program's results as
# they were: XLA's own passes (fusion, layout) still run, and LLVM
# reorders no float arithmetic at any level. Users' programs keep
# XLA's default level. Child processes (JAX jobs, TensorFlow's XLA
# search) inherit it: a 2-process training job 35 -> 26 s.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import keras  # noqa: E402
import pytest  # noqa: E402

# The modules that take longest (seconds of test time, summed over their
# tests, from `--durations=0`), started first: pytest-xdist hands whole
# modules to its two workers (`--dist loadfile`) in collection order, so
# a long module collected last kept one worker busy while the other idled.
LONGEST_FIRST = [
    "tests/test_distributed.py",
    "tests/tasks/test_translation.py",
    "tests/test_examples.py",
    "tests/tasks/test_backends.py",
    "tests/tasks/test_sentence_pairs.py",
    "tests/models/test_learning.py",
    "tests/test_cli_verbs.py",
    "tests/tasks/test_batch_invariance.py",
    "tests/test_sweep.py",
]


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = os.path.relpath(str(item.path), ROOT)
        if path in LONGEST_FIRST:
            return LONGEST_FIRST.index(path)
        return len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each module keeps its own order


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
