"""Numbers the paper reports (Ni et al., 2026), shown beside ours in the tables and
always labelled "reported". Table 1: accuracy (%) at generation lengths 128 / 256 /
512; None where the paper has no entry. Ablation: GSM8K accuracy (%) at length 256 of
the base model, JustGRPO and JustGRPO-Random (the paper gives no JustGRPO-Fast
accuracy). Table 6: general capability (%) of the base model and JustGRPO; the paper
gives MMLU as numbers and MMLU-Pro, HellaSwag and ARC-Challenge only as essentially
unchanged, so those cells stay empty."""

TABLE1_LENGTHS = (128, 256, 512)
TABLE1 = {
    "d1": {"gsm8k": (73.2, 81.1, 82.1), "math500": (33.8, 38.6, 40.2)},
    "wd1": {"gsm8k": (77.2, 80.8, 82.3), "math500": (33.3, 34.4, 39.0)},
    "ESPO": {"gsm8k": (80.0, 82.3, 83.7), "math500": (36.0, 39.0, 43.4), "humaneval": (28.1, 42.1, 50.0),
             "mbpp": (47.4, 44.6, 44.2)},
    "GDPO": {"gsm8k": (78.4, 82.8, 84.5), "math500": (33.2, 39.6, 41.4), "humaneval": (26.2, 39.6, 39.0),
             "mbpp": (43.6, 50.6, 47.1)},
    "SPG": {"gsm8k": (78.5, 86.1, 84.5), "math500": (33.4, 40.0, 41.8)},
    "JustGRPO": {"gsm8k": (83.8, 89.1, 89.8), "math500": (39.0, 45.1, 45.2), "humaneval": (37.8, 49.4, 48.7),
                 "mbpp": (50.6, 52.4, 49.0)},
}

ABLATION_LENGTH = 256
ABLATION = {"gsm8k": {"base": 78.6, "JustGRPO": 89.1, "JustGRPO-Random": 82.2}}


TABLE6 = {"base": {"mmlu": 65.5}, "JustGRPO": {"mmlu": 65.8}}


def reported(table: str) -> dict[str, dict[str, dict[int, float]]]:
    """method -> task -> {gen_length: accuracy} of the paper's `table` (table1 | ablation)."""
    if table == "table1":
        return {m: {t: {n: a for n, a in zip(TABLE1_LENGTHS, accs) if a is not None} for t, accs in per_task.items()}
                for m, per_task in TABLE1.items()}
    out: dict = {}
    for task, rows in ABLATION.items():
        for method, acc in rows.items():
            out.setdefault(method, {})[task] = {ABLATION_LENGTH: acc}
    return out
