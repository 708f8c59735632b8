"""A job's life in the bucket: its record, states and id, the ledger that claims and leases
it, the handle that writes it, its sidecar options, and the bucket layout it lives in."""
