"""pytest collects the course notebooks through nbval (``--nbval-lax``, see pyproject.toml).

Why a default scale here: the notebooks default to ``classroom`` (minutes each, for students), while a
test run wants ``ci`` (seconds each). An explicit ``NASBENCH_LAB_SCALE`` in the environment still wins.
The kernels nbval starts inherit this process's environment.
"""
import os

os.environ.setdefault("NASBENCH_LAB_SCALE", "ci")
os.environ.setdefault("NASBENCH_LAB_OFFLINE", "1")          # tests never download
