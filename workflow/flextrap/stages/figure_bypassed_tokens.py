"""Rule `figure_bypassed_tokens`: Fig. 6: the words arbitrary order bypasses most often (bypass rate, top `figures.top_bypassed`) (`flextrap.plots.bypassed_tokens`).

    python -m flextrap.stages.figure_bypassed_tokens --inputs '["results/entropy/tiny/synthetic/bypass.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/bypassed_tokens   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("bypassed_tokens", __doc__)

if __name__ == "__main__":
    main()
