"""Rule learning: differentiable Neural LP, decoding into weighted rules, learn and eval --rules.

Needs the ``neural`` extra: importing any module of this package without torch raises
:class:`nesy.errors.MissingExtraError` naming ``pip install 'nesy[neural]'``.
"""

from nesy.extras import require

require("torch", "torch_geometric", "safetensors")
