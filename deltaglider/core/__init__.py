"""The core: models, the on-storage format, and the service's flows. It talks to the world through
the ports, with one exception: rebuilding the original's deltas over gzip/bzip2/xz/compress data
(:mod:`deltaglider.core.legacy`) runs those programs when Python's own compressors differ from them."""
