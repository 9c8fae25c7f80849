"""`deltaglider serve`: the store over HTTP (S3 API, package index, browse page, metrics)."""
