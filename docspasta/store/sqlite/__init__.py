"""The SQLite store: one writer per process, WAL, short-lived read-only readers.

`writer` (the Store: jobs, batch commits, events, control, heartbeats), `reads`
(read-only views), `frontier` (claims with leases, link insertion), `migrations`
(the schema, applied on first use).
"""
