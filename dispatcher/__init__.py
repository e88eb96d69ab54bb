"""qms dispatcher: the one owner of the queue.

- `dispatcher.domain`: pure queue logic (model, commands, events, core, calling policy,
  serving windows, simulation) — no sockets, files or clocks;
- `dispatcher.server`: the LAN service (SQLite store, group-commit service, HTTP API, OpenAPI);
- `dispatcher.client`: what devices import to talk to it (client, link thread, state mirror).
"""

from base import __version__

__all__ = ["__version__"]
