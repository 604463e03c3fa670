"""Rule `figure_training_efficiency`: Fig. 9: held-out accuracy during JustGRPO training against the step and the training time (`flextrap.plots.training_efficiency`).

    python -m flextrap.stages.figure_training_efficiency --inputs '[{"seed": 0, "path": "results/seed0/models/tiny-justgrpo-synthetic/heldout_log.csv"}, ...]' \\
        --settings '<json>' --out results/figures/justgrpo/training_efficiency   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("training_efficiency", __doc__)

if __name__ == "__main__":
    main()
