"""Watching folders live: changes on disk reach the index a moment later.

``Watcher`` (in ``core.watch.watcher``) is the entry point; this package's other modules
are its parts.  Importing the package itself loads nothing heavy.
"""
