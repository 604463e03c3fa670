"""Rule `figure_coverage`: Fig. 4: the problems solved (at k = n) only under AR order, only under arbitrary order, under both, under neither (`flextrap.plots.coverage`).

    python -m flextrap.stages.figure_coverage --inputs '["results/passk/tiny/synthetic/coverage.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/coverage   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("coverage", __doc__)

if __name__ == "__main__":
    main()
