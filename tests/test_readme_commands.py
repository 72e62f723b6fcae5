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
