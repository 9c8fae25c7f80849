"""The upload flow: a private copy of the file, the choice of base, the encode, one write with a role."""
