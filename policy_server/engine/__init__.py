"""The Reins policy engine: pure functions from a hook event to a decision.

Rules for every module in this package (checked by ``tests/test_repo_shape.py``):

- No I/O: no files, sockets, clock, environment, Flask, gevent or SQLite. Callers pass in
  everything (the payload, the cwd, the home directory, the compiled policies).
- Standard library only, and importable on Python 3.9, so the hook client can evaluate a
  cached policy bundle offline with the very same code the server uses.
- Never raise on hostile input: a command the shell parser cannot follow becomes an
  ``unanalyzable`` property that policies decide on.
"""
