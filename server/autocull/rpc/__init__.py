"""Transports: the only place that imports the generated protobuf code."""
