"""``make bench``: performance at scale, each figure a ratio measured side by side.

Run as ``python -m benchmarks`` (see ``benchmarks/__main__.py`` and docs/performance.md).
Nothing here is imported by the application.
"""
