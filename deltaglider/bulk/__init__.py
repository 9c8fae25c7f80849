"""Bulk jobs on any ``concurrent.futures.Executor``: a process pool, a Dask cluster
(``distributed.Client.get_executor()``), Ray through a futures adapter. The client's ``sync``,
``copy_tree``, ``migrate``, ``verify_tree``, ``upload_many``, ``download_many``, ``repack``,
``retain`` and ``stats`` take ``executor=`` and come here; without one they run on the caller's
threads as before.

- :mod:`deltaglider.bulk.spec`: the client as a picklable recipe a worker builds its own from;
- :mod:`deltaglider.bulk.plan`: a batch's steps cut into tasks, on the caller, once;
- :mod:`deltaglider.bulk.run`: the tasks submitted and their results streamed back;
- :mod:`deltaglider.bulk.spaces`: tree-wide stats, repack and retain, one job per folder;
- :mod:`deltaglider.bulk.dask`: the executor of a Dask scheduler (the ``dask`` extra), for the CLI.

Nothing here imports Dask, and ``import deltaglider`` imports nothing here.
"""

from deltaglider.bulk.spec import ClientSpec

__all__ = ["ClientSpec"]
