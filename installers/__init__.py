"""Installers: put the Reins hook client on a developer machine and wire each harness to it.

``reins install|uninstall|doctor`` (and ``python3 -m installers ...`` inside the one-line installer's
zipapp) merge Reins into Claude Code, Codex and Gemini CLI settings without losing the user's own
keys, hooks, comments or formatting, and undo that exactly.

This package must never import the servers (``policy_server``, ``gateway``): it runs on a developer
laptop with Python >= 3.9, the standard library and ``tomlkit`` only.
"""
