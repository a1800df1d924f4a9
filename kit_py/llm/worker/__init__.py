"""The warm worker: litellm imported once, in a process that outlives one-shot `kit` runs.

Importing litellm costs ~3 s of CPU, more than a one-shot answer itself. A one-shot `kit` sends
its model calls (check the model, its limits, stream the answer, a summary) to the worker instead,
which forks a child per call with the caller's environment; everything else (sessions, tools,
rendering) stays in `kit`. Modules: `folder` (where it lives, who may talk to it), `protocol`
(what is said), `server` (the worker), `child` (one call), `rehearsal` (its warm-up), `client`
(kit's side: routing, falling back, starting it), `control` (`kit worker status|start|stop`).
"""

from kit_py.llm.worker.client import turned_off, worker_calls

__all__ = ["turned_off", "worker_calls"]
