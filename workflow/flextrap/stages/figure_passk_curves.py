"""Rule `figure_passk_curves`: Fig. 3: Pass@k against k, one curve per decoding order with its bootstrap band, one panel per task (`flextrap.plots.passk_curves`).

    python -m flextrap.stages.figure_passk_curves --inputs '["results/passk/tiny/synthetic/passk.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/passk_curves   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("passk_curves", __doc__)

if __name__ == "__main__":
    main()
