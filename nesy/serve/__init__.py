"""The HTTP endpoint (``nesy serve``): SPARQL 1.1 Protocol, Graph Store, reasoning API and a web page.

Needs the ``serve`` extra (Starlette and uvicorn): importing any module of this package
without them raises :class:`nesy.errors.MissingExtraError` naming ``pip install 'nesy[serve]'``.
Nothing here imports torch; the CLI imports this package only when ``nesy serve`` runs.
See ``docs/serve.md``.
"""

from nesy.extras import require

require("starlette", "uvicorn")
