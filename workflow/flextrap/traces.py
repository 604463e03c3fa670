"""Entropy degradation from decode traces (paper Sec. 3, Fig. 6-7, App. C).

Only an answer's text tokens count (up to its first EOS). A token is *bypassed* when,
at the step it was committed, some position to its right, EOS padding included, had
been committed earlier (the paper's operational definition); a position never
committed because the row exited early would only have been committed after every
text token, so the counts equal those of a full decode. Its *decode entropy* is the entropy (nats) of
the model's untempered predictive distribution at its position at that step.
bypass.csv: per order and word, occurrences, bypassed count and rate.
connective_entropy.csv: per order, the mean decode entropy of each connective word,
of all connectives pooled, and of all tokens (the paper's dashed line).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from .jsonl import read_jsonl, write_text

ALL_TOKENS, ALL_CONNECTIVES = "(all tokens)", "(all connectives)"


def bypassed(steps: np.ndarray) -> np.ndarray:
    """bypassed[i]: some j > i was committed at an earlier step than i. A negative step
    marks a position never committed (the row left the batch before: `flextrap.continuous`),
    which bypasses nothing."""
    steps = np.where(steps < 0, np.iinfo(np.int64).max, steps)
    right_min = np.minimum.accumulate(steps[::-1])[::-1]  # min over j >= i
    later = np.append(right_min[1:], np.iinfo(np.int64).max)  # min over j > i
    return later < steps


def text_length(token_ids: list[int], eos_id: int | None) -> int:
    return token_ids.index(eos_id) if eos_id in token_ids else len(token_ids)


class TokenStats:
    """Per-token-id sums over many traces: occurrences, bypassed, entropy, entropy^2
    (buffered and reduced with bincount: paper-scale runs have ~10^8 tokens)."""

    def __init__(self, flush_every: int = 1_000_000):
        self.sums = np.zeros((0, 4))
        self.buffer, self.buffered, self.flush_every = [], 0, flush_every

    def add(self, record: dict, eos_id: int | None) -> None:
        end = text_length(record["token_ids"], eos_id)
        steps = np.asarray(record["trace"]["step"], dtype=np.int64)
        ids = np.asarray(record["token_ids"][:end], dtype=np.int64)
        ent = np.asarray(record["trace"]["entropy"][:end], dtype=float)
        self.buffer.append((ids, bypassed(steps)[:end].astype(float), ent))
        self.buffered += end
        if self.buffered >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        ids, skipped, ent = (np.concatenate(parts) for parts in zip(*self.buffer))
        size = max(len(self.sums), int(ids.max(initial=-1)) + 1)
        new = np.stack([np.bincount(ids, weights=w, minlength=size)
                        for w in (np.ones(len(ids)), skipped, ent, ent * ent)], 1)
        new[:len(self.sums)] += self.sums
        self.sums, self.buffer, self.buffered = new, [], 0

    def by_word(self, word_of) -> dict[str, np.ndarray]:
        self.flush()
        out = defaultdict(lambda: np.zeros(4))
        for tok in np.flatnonzero(self.sums[:, 0]):
            out[word_of(int(tok))] += self.sums[tok]
        return out


def word_function(tokenizer):
    cache = {}

    def word_of(tok: int) -> str:
        if tok not in cache:
            cache[tok] = tokenizer.decode([tok]).strip()
        return cache[tok]
    return word_of


def entropy_row(label: str, sums: np.ndarray, **keys) -> dict:
    n, _, total, squares = sums
    mean = total / n if n else float("nan")
    std = float(np.sqrt(max(squares / n - mean * mean, 0.0))) if n else float("nan")
    return {**keys, "word": label, "count": int(n), "mean_entropy": mean, "std_entropy": std}


def tables(stats: dict[str, TokenStats], word_of, s: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    connectives = {c.lower(): c for c in s["connectives"]}
    bypass_rows, entropy_rows = [], []
    for order, st in stats.items():
        keys = {"model": s["model"], "task": s["task"], "order": order}
        words = st.by_word(word_of)
        total_bypassed = sum(v[1] for v in words.values()) or 1.0
        for word, (n, b, _, _) in words.items():
            if n >= s["min_occurrences"]:
                bypass_rows.append({**keys, "word": word, "occurrences": int(n), "bypassed": int(b),
                                    "bypass_rate": b / n, "share_of_bypassed": b / total_bypassed})
        pooled = np.zeros(4)
        for lower, label in connectives.items():
            sums = sum((v for w, v in words.items() if w.lower() == lower), np.zeros(4))
            pooled += sums
            entropy_rows.append(entropy_row(label, sums, **keys, kind="connective"))
        entropy_rows.append(entropy_row(ALL_CONNECTIVES, pooled, **keys, kind="connectives"))
        entropy_rows.append(entropy_row(ALL_TOKENS, sum(words.values(), np.zeros(4)), **keys, kind="all"))
    bypass = pd.DataFrame(bypass_rows)
    if len(bypass):
        bypass = bypass.sort_values(["order", "bypassed", "word"], ascending=[True, False, True])
    return bypass, pd.DataFrame(entropy_rows)


def write_tables(shards: dict[str, list[str]], tokenizer, s: dict, out_bypass: str, out_entropy: str) -> pd.DataFrame:
    """bypass.csv and connective_entropy.csv from each order's shards; returns the latter."""
    stats = {}
    for order, paths in shards.items():
        stats[order] = TokenStats()
        for path in paths:
            for record in read_jsonl(path, required=("token_ids", "trace")):
                stats[order].add(record, tokenizer.eos_token_id)
    bypass, entropy = tables(stats, word_function(tokenizer), s)
    write_text(out_bypass, bypass.to_csv(index=False, float_format="%.6g"))
    write_text(out_entropy, entropy.to_csv(index=False, float_format="%.6g"))
    return entropy
