"""Rule `figure_parallel_decoding`: Fig. 8: accuracy against tokens per step of each parallel-decoding rule, base model and JustGRPO (`flextrap.plots.parallel_decoding`).

    python -m flextrap.stages.figure_parallel_decoding --inputs '["results/tables/parallel.csv", ...]' \\
        --settings '<json>' --out results/figures/parallel_decoding   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("parallel_decoding", __doc__)

if __name__ == "__main__":
    main()
