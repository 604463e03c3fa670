"""What every masked-diffusion LM family answers; the defaults suit a plain HF masked LM.

A family owns the conventions that differ between dLLMs: how the model is loaded
(and the compatibility fixes its remote code needs), the attention-mask form and
position ids it takes, which logits predict which position, where its output layer
is, how activation checkpointing is switched on, and how to shrink its config to a
tiny random model for the preflight. Samplers, `grpo.ar_logprobs`, training and
evaluation only ask a family for "the logits that predict position i".
"""
from __future__ import annotations

import inspect

import torch

from ..head_split import hidden_and_head, never_split, take


class Family:
    name = "generic"
    model_types: tuple = ()     # `config.model_type` values of this family
    logit_shift = 0             # the logits at position i - logit_shift predict token i
    auto_class = "AutoModel"    # the `auto_map` entry of remote code

    # -- loading ---------------------------------------------------------------
    def prepare_config(self, config) -> None:
        """Fix a loaded config in place before the model is built (compatibility)."""

    def patch_class(self, cls) -> None:
        """Fix the model class in place before it is instantiated (compatibility);
        must be idempotent: classes of remote code are cached between loads."""

    def model_class(self, config, source: str, hub: dict):
        """The class that builds this model: the remote code's `auto_map` entry (with
        `trust_remote_code`), else the transformers class of the config."""
        from transformers import AutoModel
        from transformers.dynamic_module_utils import get_class_from_dynamic_module

        auto_map = getattr(config, "auto_map", None) or {}
        if hub.get("trust_remote_code") and self.auto_class in auto_map:
            cls = get_class_from_dynamic_module(auto_map[self.auto_class], source, revision=hub.get("revision"),
                                                local_files_only=hub.get("local_files_only", False))
            cls.register_for_auto_class(self.auto_class)  # save_pretrained then copies the code files
            return cls
        return AutoModel._model_mapping[type(config)]

    def load_config(self, source: str, hub: dict):
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(source, **hub)
        self.prepare_config(config)
        return config

    def load(self, source: str, hub: dict, dtype=None):
        """The model at `source` (hub id or directory); `hub`: revision,
        trust_remote_code, local_files_only."""
        config = self.load_config(source, hub)
        cls = self.model_class(config, source, hub)
        self.patch_class(cls)
        kwargs = {k: v for k, v in hub.items() if k != "trust_remote_code"}
        return cls.from_pretrained(source, config=config, dtype=dtype, **kwargs)

    def from_config(self, config, source: str, hub: dict):
        """A randomly initialised model of `config` (the preflight's tiny model)."""
        cls = self.model_class(config, source, hub)
        self.patch_class(cls)
        return cls(config)

    def tiny_config(self, config, layers: int, width: int, heads: int):
        """`config` shrunk to `layers` layers of width `width` (vocabulary kept)."""
        raise NotImplementedError(f"family {self.name} has no tiny config")

    # -- forward ---------------------------------------------------------------
    def forward_kwargs(self, model, attention_mask) -> dict:
        """The 2-D attention mask, plus position ids that start at each row's first
        token for models that take them (learned positions need it)."""
        if attention_mask is None:
            return {}
        kwargs = {"attention_mask": attention_mask}
        if "position_ids" in inspect.signature(getattr(model, "module", model).forward).parameters:
            kwargs["position_ids"] = (attention_mask.cumsum(1) - 1).clamp_min(0)
        return kwargs

    def aligned(self, logits: torch.Tensor) -> torch.Tensor:
        """Model logits rearranged so that column i predicts token i."""
        if self.logit_shift == 0:
            return logits
        s = self.logit_shift
        return torch.cat([logits[:, :s], logits[:, :-s]], 1)

    def logits(self, model, input_ids, attention_mask=None) -> torch.Tensor:
        """Full forward: (batch, length, vocab) logits, column i predicting token i."""
        return self.aligned(model(input_ids, **self.forward_kwargs(model, attention_mask)).logits)

    def source_positions(self, positions):
        """The columns whose logits predict `positions` (a slice or a tensor)."""
        s = self.logit_shift
        if s == 0:
            return positions
        if isinstance(positions, slice):
            if positions.start is None or positions.start < s:
                raise ValueError(f"{self.name}: no logits predict the first {s} position(s)")
            return slice(positions.start - s, positions.stop - s)
        return positions - s

    def logits_at(self, model, input_ids, positions, attention_mask=None) -> torch.Tensor:
        """The logits that predict `positions` only (see `models.logits_at`): the body
        with the output layer replaced by the identity, then the output layer on the
        kept rows, when that split is exact for this model; else the full forward."""
        hidden, head = hidden_and_head(model, input_ids, **self.forward_kwargs(model, attention_mask))
        kept = take(hidden, self.source_positions(positions))
        return kept if head is None else head(kept)

    def never_split(self, model) -> None:
        """Always run the full forward (FSDP gathers parameters only inside it)."""
        never_split(model)

    # -- training --------------------------------------------------------------
    def enable_activation_checkpointing(self, model) -> str:
        if getattr(model, "supports_gradient_checkpointing", False):
            # renamed activation_checkpointing_enable in transformers 5 (the old name goes in 6)
            enable = getattr(model, "activation_checkpointing_enable", model.gradient_checkpointing_enable)
            enable()
            return "transformers activation checkpointing"
        raise NotImplementedError(f"{type(model).__name__} has no activation checkpointing switch")
