"""HTTP routes of the policy server, one module per resource. Parse, call, serialise."""
