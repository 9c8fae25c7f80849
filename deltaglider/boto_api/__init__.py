"""The original DeltaGlider's boto3-shaped client methods (``put_object``, ``list_objects``,
``generate_presigned_url``...), over the same service as the seed's ``upload``/``download``.

Each part is a mixin of ``DeltaGliderClient``, one module per kind of call, so that code written
against the original 6.2.0 runs unchanged: the same method names, keyword names and response shapes.
The methods act on the client's own store (its S3 endpoint, or the folder of a ``file://``
endpoint): ``Bucket`` and ``Key`` name an object in it, as in boto3.
"""
