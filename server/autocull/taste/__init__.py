"""Learned taste: CLIP embeddings, the photographer's preference model, content keywords, search.

Kept empty on purpose: torch, open_clip and scikit-learn are imported inside the functions that need
them, so importing any module of this package stays cheap on the daemon's and the CLI's start-up paths.
"""
