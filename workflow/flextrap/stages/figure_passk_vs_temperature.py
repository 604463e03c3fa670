"""Rule `figure_passk_vs_temperature`: Fig. 10: Pass@k against the sampling temperature, per decoding order (`flextrap.plots.passk_vs_temperature`).

    python -m flextrap.stages.figure_passk_vs_temperature --inputs '["results/sweeps/tiny/synthetic/temperature.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/passk_vs_temperature   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("passk_vs_temperature", __doc__)

if __name__ == "__main__":
    main()
