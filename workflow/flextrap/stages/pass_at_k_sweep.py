"""Rule `pass_at_k_sweep`: Pass@k of one sweep (temperature, Fig. 10; remasking, Fig. 11),
one row per swept order and k; the command and outputs are those of rule `pass_at_k`
(`flextrap.stages.pass_at_k`), with each order's settings naming its base order and the
swept setting.

    python -m flextrap.stages.pass_at_k_sweep --samples '{"ar@t0.6": [shard, ...], ...}' \\
        --settings '<json>' --out-passk results/seed0/sweeps/tiny/synthetic/temperature.csv \\
        --out-coverage results/seed0/sweeps/tiny/synthetic/temperature.coverage.csv
"""
from flextrap.stages.pass_at_k import main

if __name__ == "__main__":
    main()
