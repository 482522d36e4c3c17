"""The notes on disk: the session record, its writer, the archive, recovery, the search index and export."""
