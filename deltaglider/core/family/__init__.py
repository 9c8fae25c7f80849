"""A DeltaSpace's bases: fingerprints, choosing among them, and retention."""
