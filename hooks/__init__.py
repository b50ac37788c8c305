"""The Reins hook client (``reins_hook.py``: one stdlib-only file, run by the harnesses)."""
