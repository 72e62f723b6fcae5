"""CI runs what the README tells a newcomer to run: the README's test command, verbatim, in .ci/run.

Why a test: the two drifted once (CI installed the `distributed` extra, the README did not), so every
newcomer saw Ray's tests skip while CI ran them."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_test_command() -> str:
    """The one command in the README's bash blocks that runs pytest."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    lines = [ln.strip() for b in blocks for ln in b.splitlines() if "pytest" in ln]
    assert len(lines) == 1, f"expected one test command in the README, found {lines}"
    return lines[0]


def test_ci_runs_the_readme_test_command_verbatim():
    command = readme_test_command()
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci


def test_readme_test_command_installs_every_extra_a_test_needs():
    # Ray's tests skip without the distributed extra; the browser tests need only Chromium (apt).
    extras = re.search(r'\.\[([a-z,_-]+)\]', readme_test_command()).group(1).split(",")
    assert {"test", "lab", "distributed"} <= set(extras)


def _layout_sections() -> dict:
    """The README's layout map as {folder: its text}: ``nasbench_lab``, ``nasbench_lab/spaces``, ...,
    ``widgets``. A line indented two spaces that names a folder opens it; a deeper line continues it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Layout\n\n```\n(.*?)```", text, re.S).group(1)
    sections: dict = {}
    top = current = None
    for line in block.splitlines():
        name = line.split()[0] if line.strip() else ""
        if not line.startswith(" ") and name:                        # nasbench_lab/, widgets/, ...
            top = current = name.rstrip("/")
        elif line.startswith("  ") and not line.startswith("   ") and name.endswith("/"):
            current = f"{top}/{name.rstrip('/')}"                      # a subpackage of the library
        elif line.startswith("  ") and not line.startswith("   "):
            current = top                                             # back at the library's own modules
        sections[current] = sections.get(current, "") + line + "\n"
    return sections


def test_the_readme_layout_lists_every_module_where_it_is():
    sections = _layout_sections()
    missing = []
    for folder in ("nasbench_lab", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = path.parent.relative_to(ROOT).as_posix()
            if path.name == "__init__.py" and where != "nasbench_lab":
                continue                                              # a subpackage is named by its folder
            if not re.search(rf"(?<![\w.]){re.escape(path.name)}(?![\w])", sections.get(where, "")):
                missing.append(f"{where}/{path.name}")
    assert not missing, f"the README's layout map does not list {missing} in their folders' entries"
