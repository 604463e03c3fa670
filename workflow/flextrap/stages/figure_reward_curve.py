"""Rule `figure_reward_curve`: the JustGRPO runs' mean training reward against the step (`flextrap.plots.reward_curve`).

    python -m flextrap.stages.figure_reward_curve --inputs '[{"seed": 0, "path": "results/seed0/models/tiny-justgrpo-synthetic/train_log.csv"}, ...]' \\
        --settings '<json>' --out results/figures/justgrpo/reward_curve   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("reward_curve", __doc__)

if __name__ == "__main__":
    main()
