"""The scheduler: starts agents' scheduled runs headless, one lease-guarded run at a time per
agent, and records each run's outcome. Never holds a provider key; a run's token lives only in
the environment of its harness process and is revoked when the run ends."""
