import sys
from pathlib import Path

# tests share small helpers (imagegen.py) by plain import
sys.path.insert(0, str(Path(__file__).parent))

# CLIP (the 'clip' extra, installed by `make test`) is off in every test unless the test turns it on with its own
# tiny model (tests/tinyclip.py): otherwise each engine and daemon would try to load and download the default
# model in the background. AUTOCULL_CLIP=off is the same switch a user has.
import os  # noqa: E402

os.environ.setdefault("AUTOCULL_CLIP", "off")
