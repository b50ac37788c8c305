"""The tamper-evident audit log: one hash-chained row per hook event, in the store's SQLite file.

- ``records``: what a row holds and how it is hashed. Pure: no I/O, no clock.
- ``writer``: appends rows to the chain (``append``) and batches concurrent requests into one
  durable commit (``GroupCommitter``).
- ``verify``: walks the chain and names the first row that was edited, deleted, inserted or moved.
- ``export``: streams rows as JSON lines, CSV or OCSF (``ocsf`` holds the mapping).
- ``checkpoints`` and ``prune``: retention that deletes old rows only behind a signed checkpoint,
  so a verifier can tell a pruned range from a deleted one.
- ``cli``: ``reins audit export|verify|prune``.

Nothing appends to ``audit_events`` except ``writer`` (``prune`` too goes through it): the chain
head is read and extended inside one ``BEGIN IMMEDIATE`` transaction, which is what keeps several
processes that share one file from forking the chain.
"""
