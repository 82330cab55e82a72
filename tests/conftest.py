import sys
from pathlib import Path

# tests share small helpers (imagegen.py) by plain import
sys.path.insert(0, str(Path(__file__).parent))
