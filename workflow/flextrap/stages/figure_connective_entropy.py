"""Rule `figure_connective_entropy`: Fig. 7: the mean decode entropy of connectives, and of all tokens, per decoding order (`flextrap.plots.connective_entropy`).

    python -m flextrap.stages.figure_connective_entropy --inputs '["results/entropy/tiny/synthetic/connective_entropy.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/connective_entropy   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("connective_entropy", __doc__)

if __name__ == "__main__":
    main()
