"""Rule `ablation_table`: the ablation, the base model and each JustGRPO variant (AR
order, fast, random order) on one task (`flextrap.tables`). The command and outputs are
those of rule `accuracy_table` (`flextrap.stages.accuracy_table`).

    python -m flextrap.stages.ablation_table --inputs '[{"seed": 0, "model": "tiny", "task": "synthetic",
        "path": "results/seed0/eval/tiny/synthetic/len40.json"}, ...]' \\
        --settings '<json>' --out-markdown results/tables/ablation.md \\
        --out-latex results/tables/ablation.tex --out-csv results/tables/ablation.csv
"""
from flextrap.stages.accuracy_table import main

if __name__ == "__main__":
    main()
