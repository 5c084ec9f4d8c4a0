"""What importing the package does, and does not do."""

import os
import subprocess
import sys


def _run(code):
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "svg"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_importing_the_package_leaves_the_matplotlib_backend_alone():
    # A notebook's backend (here "svg", set by the user) must survive
    # `import s2s_zoo`; s2s_zoo used to call matplotlib.use("Agg").
    out = _run(
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import s2s_zoo, s2s_zoo.plotting\n"
        "from s2s_zoo.tasks import translation, aspect_sentiment\n"
        "print(matplotlib.get_backend())"
    )
    assert out.split() == ["svg"]


def test_data_modules_do_not_import_the_datasets_or_the_tasks():
    out = _run(
        "import sys\n"
        "import s2s_zoo.data.translation, s2s_zoo.data.sentence_pairs\n"
        "import s2s_zoo.data.aspect_text, s2s_zoo.data.semeval\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('s2s_zoo.datasets', 's2s_zoo.tasks'))))"
    )
    assert out.strip() == "[]"
