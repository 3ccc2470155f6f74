"""The PostgreSQL store: for a job store that outlives any process and workers on many
machines. The same tables, columns and status values as the SQLite store.

`writer` (PostgresWriter: one connection, each write a transaction that locks the job's
row first; times from the database's clock), `reads` (PostgresReader: a pool of read-only
sessions), `frontier` (claims with `FOR UPDATE SKIP LOCKED`), `migrations` (the schema,
applied under an advisory lock), `connect` (connections, pools, URLs shown without
passwords). psycopg 3 and psycopg_pool; imported only when a `postgresql://` URL is named.
"""
