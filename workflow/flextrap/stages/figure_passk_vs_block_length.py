"""Rule `figure_passk_vs_block_length`: Fig. 5: Pass@k of semi-AR decoding against its block length (block 1 = AR) (`flextrap.plots.passk_vs_block_length`).

    python -m flextrap.stages.figure_passk_vs_block_length --inputs '["results/passk/tiny/synthetic/passk.csv", ...]' \\
        --settings '<json>' --out results/figures/tiny/passk_vs_block_length   # .png and .pdf
"""
from flextrap.plots import figure_main

main = figure_main("passk_vs_block_length", __doc__)

if __name__ == "__main__":
    main()
