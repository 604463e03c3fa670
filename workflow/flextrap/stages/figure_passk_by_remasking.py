"""Rule `figure_passk_by_remasking`: Fig. 11: Pass@k of arbitrary order by remasking score (confidence, margin, negative entropy) beside AR order (`flextrap.plots.passk_by_remasking`).

    python -m flextrap.stages.figure_passk_by_remasking --inputs '["results/sweeps/tiny/synthetic/remasking.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/passk_by_remasking   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("passk_by_remasking", __doc__)

if __name__ == "__main__":
    main()
