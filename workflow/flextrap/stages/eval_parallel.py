"""Rule `eval_parallel`: accuracy and decoding cost of a model on one shard of a task's
test problems under one parallel-decoding rule and value (Sec. 5, Fig. 8: EB-sampler,
top-k, threshold; `sampling.generate_parallel`). The command and outputs are those of
rule `eval_accuracy` (`flextrap.stages.eval_accuracy`); the summary's NFE and tokens per
step measure the parallelism.

    python -m flextrap.stages.eval_parallel --model '<json model spec>' --data results/data/gsm8k/test.jsonl \\
        --task gsm8k --settings '<json>' --shard 0 --shards 4 \\
        --out results/seed0/parallel/base/gsm8k/eb-0.1/shard0of4.jsonl \\
        --summary results/seed0/parallel/base/gsm8k/eb-0.1/shard0of4.json
"""
from flextrap.stages.eval_accuracy import main

if __name__ == "__main__":
    main()
