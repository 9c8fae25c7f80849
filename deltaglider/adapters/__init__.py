"""Adapters: implementations of the ports. Import the module you need; nothing is imported here so
that the S3 adapter's boto3 is loaded only by whoever uses it."""
