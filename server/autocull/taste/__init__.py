"""Learned taste: CLIP embeddings, the photographer's ratings, search."""
