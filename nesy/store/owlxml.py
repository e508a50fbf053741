"""OWL/XML reading: an OWL/XML file as N-Triples, through owlready2's parser (the ``[dl]`` extra)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nesy.errors import LoadError
from nesy.extras import missing_extra


def owlxml_to_ntriples(path: Path) -> bytes:
    """An OWL/XML file as N-Triples, through owlready2's parser.

    Raises:
        MissingExtraError: owlready2 is not installed (``pip install 'nesy[dl]'``).
        LoadError: the file is not valid OWL/XML.
    """
    try:
        import owlready2
    except ImportError as exc:  # pragma: no cover - the [dl] extra
        raise (missing_extra(exc) or LoadError(f"reading OWL/XML needs owlready2: {exc}", file=str(path))) from None
    world = owlready2.World()
    try:
        with open(path, "rb") as fh:
            onto = world.get_ontology(Path(path).resolve().as_uri()).load(fileobj=fh)
    except Exception as exc:  # owlready2 raises plain exceptions of several kinds on bad XML
        raise LoadError(f"invalid OWL/XML: {exc}", file=str(path)) from None
    with tempfile.TemporaryDirectory(prefix="nesy-owx-") as tmp:
        out = Path(tmp) / "out.nt"
        onto.save(file=str(out), format="ntriples")
        return out.read_bytes()


__all__ = ["owlxml_to_ntriples"]
