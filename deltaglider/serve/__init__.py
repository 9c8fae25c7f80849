"""``deltaglider serve``: a delta store over HTTP, for any S3 tool (and, mounted beside it, a package
index, a browse page and metrics).

Needs the ``serve`` extra (Starlette and uvicorn); nothing here is imported by ``import deltaglider``
or by the CLI until ``deltaglider serve`` runs. :func:`deltaglider.serve.app.build_app` assembles the
application; :mod:`deltaglider.serve.settings` holds what the operator chose.
"""
