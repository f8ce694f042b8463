"""One module per file format; each turns a :class:`~ingest.records.SourceFile` into a ``LoadResult``."""
