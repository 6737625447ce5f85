"""The README's "From Python" example runs as written: in a fresh Python process, from a folder
laid out as the README assumes (``results/fcn/zoo.tar.gz``, a zoo exported by this test, and the
UCR archive at ``../shared/ucr``), with nothing on the console but the example's own output."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- from-python-example"
NOISE = re.compile(r"tensorflow|oneDNN|absl|cuda|warning|deprecat", re.IGNORECASE)


def readme_example() -> str:
    """The python code block that follows the marker in README.md."""
    readme = (REPO / "README.md").read_text()
    assert MARKER in readme, f"README.md has no {MARKER} marker before its example"
    after = readme.split(MARKER, 1)[1]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match, "no ```python block after the marker"
    return match.group(1)


def test_the_readme_example_runs_as_written(tiny_zoo, ucr_root, tmp_path):
    code = readme_example()
    project = tmp_path / "project"
    (project / "results" / "fcn").mkdir(parents=True)
    shutil.copyfile(tiny_zoo, project / "results" / "fcn" / "zoo.tar.gz")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "ucr").symlink_to(ucr_root.parent, target_is_directory=True)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "source: " in result.stdout and "test accuracy: " in result.stdout
    assert (project / "gunpoint-classifier" / "sha256sums.txt").is_file()
    assert "50/50" in result.stderr  # the progress bar (verbose=True)
    noise = [line for line in result.stderr.splitlines() if NOISE.search(line)]
    assert not noise, noise
