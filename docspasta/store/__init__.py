"""The job store: the single source of truth for jobs, pages and events.

Holds the SQLite implementation (`sqlite/`: the writer, short-lived readers, the
frontier's claims and the schema's migrations) and the pure reading order the store
numbers pages with. The only place with SQL or a database driver.

May import: settings, errors, urls, records.
"""
