"""The ``deltaglider`` command line: ``aws s3``-style ``cp``, ``ls``, ``rm``, ``sync``, plus ``verify``
and ``stats``, over the SDK's client. Imports nothing heavy (boto3, the codec) until a command runs."""

from __future__ import annotations

from deltaglider.cli.app import cli, main, run

__all__ = ["cli", "main", "run"]
