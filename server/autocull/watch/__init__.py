"""Pieces of folder watching that need no daemon: which files count, which file systems need polling, when a
file being written has settled. ``autocull.watcher`` puts them together with watchdog and the engine."""
