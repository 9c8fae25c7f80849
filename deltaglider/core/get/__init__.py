"""The download flow: finding the stored form, rebuilding it, and writing the destination."""
