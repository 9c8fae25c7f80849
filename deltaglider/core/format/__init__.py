"""What is stored where, under which name: key layout, metadata, the two forms of a name, and
finding a stored file."""
