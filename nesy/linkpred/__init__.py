"""Link prediction: KGE models and R-GCN, training, calibration, evaluation, and the ~p predictor.

Needs the ``neural`` extra: importing any module of this package without torch,
torch-geometric or safetensors raises :class:`nesy.errors.MissingExtraError` naming
``pip install 'nesy[neural]'`` (the CLI prints it without a traceback).
"""

from nesy.extras import require

require("torch", "torch_geometric", "safetensors")
