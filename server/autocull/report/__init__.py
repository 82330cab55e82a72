"""The review page: an offline, self-contained contact sheet of a cull (``autocull report``)."""
