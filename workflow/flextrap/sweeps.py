"""Pass@k sweeps (paper Fig. 10-11): the Pass@k analysis repeated with one sampler
setting varied, as orders derived from `passk.orders`.

`passk.sweeps.<setting>` (`temperature` or `remasking`) lists the `values`, the base
`orders` each value is applied to, optional `baseline` orders sampled once unchanged
(AR beside the remasking proxies), and the sweep's own `tasks`, `n_samples` and
`max_problems`. Derived order `<setting>-<order>-<value>` (e.g. `temperature-ar-0.3`,
`remasking-arbitrary-margin`; a baseline is `<setting>-<order>`) is sampled like any
order and lands in `results/sweeps/<model>/<task>/<setting>.csv`.
"""
from __future__ import annotations


def derived_orders(passk: dict) -> dict[str, dict]:
    """Every sweep order: name -> {sweep, order, value (None for a baseline), spec}, where
    spec is the base order's settings with the swept value."""
    out = {}
    for setting, sweep in passk.get("sweeps", {}).items():
        for order in sweep["orders"]:
            for value in sweep["values"]:
                spec = {**passk["orders"][order], setting: value}
                out[f"{setting}-{order}-{value}"] = {"sweep": setting, "order": order, "value": value, "spec": spec}
        for order in sweep.get("baseline", []):
            out[f"{setting}-{order}"] = {"sweep": setting, "order": order, "value": None,
                                         "spec": dict(passk["orders"][order])}
    return out


def sweep_of(passk: dict, setting: str) -> dict[str, dict]:
    """The derived orders of one sweep."""
    return {name: d for name, d in derived_orders(passk).items() if d["sweep"] == setting}
