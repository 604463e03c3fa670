"""Model families: one module per masked-diffusion LM family (`base.Family` lists what
each answers). A loaded model's family comes from its `config.model_type`; a model
spec may name it (`family:`). Adding a family: one module here, its entry in
FAMILIES, and a `family:` in the config's model entry."""
from __future__ import annotations

from ..errors import FlextrapError
from .base import Family
from .bert import BERT
from .dream import DREAM
from .llada import LLADA

FAMILIES = {f.name: f for f in (BERT, LLADA, DREAM)}
GENERIC = Family()


def family_named(name: str) -> Family:
    if name not in FAMILIES:
        raise FlextrapError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def family_of_type(model_type: str | None) -> Family:
    """The family of a `config.model_type`; the generic one (unshifted logits, 2-D
    mask) when no family claims it."""
    return next((f for f in FAMILIES.values() if model_type in f.model_types), GENERIC)


def family_of(model) -> Family:
    """The family of a loaded (possibly wrapped: DDP, FSDP) model."""
    inner = getattr(model, "module", model)
    config = getattr(inner, "config", None)
    return family_of_type(getattr(config, "model_type", None))
