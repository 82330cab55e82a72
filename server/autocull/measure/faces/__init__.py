"""Faces: where they are, whether the eyes are open, whether the face is sharp.

``find_faces(decoded, region)`` runs MediaPipe BlazeFace (detection) and Face
Mesh (landmarks, in the LiteRT interpreter) on the upright analysis image and
returns one ``FaceMetrics`` per face, the main subject flagged;
``autocull.measure.analyze(decoded, faces=True)`` calls it. Models load
lazily on the first call, once per worker thread; importing this package
loads nothing. See ``detect``, ``mesh``, ``eyes``, ``find`` for the choices.
"""

from __future__ import annotations

from .find import find_faces
from .models import FaceModelError, models_loaded

__all__ = ["find_faces", "models_loaded", "FaceModelError"]
