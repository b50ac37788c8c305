"""The ``reins`` command: one entry point whose verbs come from each package."""
