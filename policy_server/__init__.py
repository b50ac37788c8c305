"""Reins control plane: the policy engine, policy loading and the ``reins policy`` verbs.

The Flask policy server, the audit store and the registry build on this package.
"""
