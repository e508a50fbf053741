"""Link prediction: KGE models and R-GCN, training, calibration, evaluation, and the ~p predictor."""
