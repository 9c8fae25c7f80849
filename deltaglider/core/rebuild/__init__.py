"""Content verified by SHA-256 (from the cache, a download, a rebuilt snapshot, a decoded base), and
the bodies files are rebuilt from: VCDIFF, decoded archives, the original's legacy deltas."""
