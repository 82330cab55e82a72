"""AutoCull: a local engine that culls photos and answers host plugins."""

__version__ = "0.1.0"
# Bump when a change to decode or measure makes stored analyses out of date:
# rows with another analyzer version are analysed again.
ANALYZER_VERSION = "3"
