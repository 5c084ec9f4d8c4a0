"""What importing the package does, and does not do, and the layers its
modules form."""

import ast
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


# === Layering, read from the source (every import, those inside
# functions too) ===

PACKAGE = os.path.join(os.path.dirname(__file__), "..", "s2s_zoo")


def _modules():
    """`{dotted name: path}` of every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path[:-3], os.path.dirname(PACKAGE))
                dotted = relative.replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


def _imports(name, path, modules):
    """The modules `name` imports: ours by dotted name (the module itself
    where `from package import module` names one), others by top name."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[
                    : len(package.split(".")) + 1 - node.level
                ]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else base)
    return found


def _graph():
    modules = _modules()
    return {
        name: _imports(name, path, modules) for name, path in modules.items()
    }


def _ours(graph, name):
    return {m for m in graph[name] if m in graph}


def test_no_import_circle():
    graph = _graph()
    done, path = set(), []

    def visit(name):
        if name in path:
            circle = path[path.index(name) :] + [name]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if name in done:
            return
        path.append(name)
        for imported in sorted(_ours(graph, name)):
            visit(imported)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def _under(name, *prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_each_layer_imports_only_the_layers_below_it():
    graph = _graph()
    rules = {
        # The bottom: atomic files and JSON.
        "s2s_zoo.io": ("s2s_zoo", "tensorflow", "keras", "keras_hub"),
        # Text to ids: no serving, training or tasks above it.
        "s2s_zoo.data": (
            "s2s_zoo.serving",
            "s2s_zoo.export",
            "s2s_zoo.training",
            "s2s_zoo.tasks",
            "s2s_zoo.datasets",
        ),
        "s2s_zoo.registry": ("s2s_zoo.models", "keras", "tensorflow"),
        "s2s_zoo.layers": ("s2s_zoo.tasks", "s2s_zoo.serving"),
        "s2s_zoo.models": ("s2s_zoo.tasks", "s2s_zoo.serving"),
        "s2s_zoo.serving": ("s2s_zoo.tasks", "s2s_zoo.training"),
        "s2s_zoo.training": ("s2s_zoo.tasks",),
    }
    broken = []
    for layer, forbidden in rules.items():
        for name in graph:
            if not _under(name, layer):
                continue
            for imported in graph[name]:
                if _under(imported, *forbidden) and not _under(imported, layer):
                    broken.append(f"{name} imports {imported}")
    assert not broken, "\n".join(broken)


def test_importing_the_tasks_loads_no_tensorflow():
    # A task's TensorFlow work starts when it runs: `s2s_zoo.tasks.load`,
    # the CLI's --help and the task table must not pay for it.
    out = _run(
        "import sys\n"
        "import s2s_zoo, s2s_zoo.tasks, s2s_zoo.tasks.base, s2s_zoo.io\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tensorflow_text', 'keras_hub')))"
    )
    assert out.strip() == "[]"


def test_no_module_is_over_600_lines_but_beam_search():
    # One algorithm a module: a module that outgrows this is split by role.
    allowed = {"s2s_zoo.decoding"}
    long = []
    for name, path in _modules().items():
        with open(path, encoding="utf-8") as f:
            lines = sum(1 for _ in f)
        if lines > 650 and name not in allowed:
            long.append(f"{name}: {lines} lines")
    assert not long, "\n".join(long)
