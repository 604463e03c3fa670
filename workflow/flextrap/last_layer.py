"""Logits of a BERT masked LM at a few positions, with its last layer run only there.

Every caller of `models.logits_at` needs logits at a few positions per input: the
scored answer position of each AR-likelihood input (`grpo.ar_logprobs`), the current
block while sampling. No later layer reads the last layer's output at the other
positions, so the last layer needs keys and values at every position but queries, the
attention output, the MLP and the LM head only at the kept ones (exact). For the tiny
default (4 layers) that is about a fifth of the body; for LLaDA (32 layers) it is
1/32, and LLaDA takes the head-only split (`head_split`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .head_split import take

ATTENTION = ("sdpa", "eager")  # implementations whose masks torch's SDPA reads as they are


def supports(model) -> bool:
    """A transformers BertForMaskedLM without cross-attention, dropout or a cache."""
    from transformers import BertForMaskedLM

    if type(model) is not BertForMaskedLM:
        return False
    c = model.config
    return (not c.is_decoder and c._attn_implementation in ATTENTION
            and c.hidden_dropout_prob == 0 and c.attention_probs_dropout_prob == 0)


def last_layer_at(layer, hidden: torch.Tensor, kept: torch.Tensor, mask) -> torch.Tensor:
    """BertLayer applied to the whole sequence `hidden` (batch, S, d), returned only at
    the rows `kept` (batch, k, d) taken from it: queries from `kept`, keys and values
    from every position."""
    att = layer.attention.self
    b = hidden.shape[0]

    def heads(t):
        return t.view(b, -1, att.num_attention_heads, att.attention_head_size).transpose(1, 2)

    context = F.scaled_dot_product_attention(heads(att.query(kept)), heads(att.key(hidden)),
                                             heads(att.value(hidden)), attn_mask=mask, scale=att.scaling)
    x = layer.attention.output(context.transpose(1, 2).reshape(kept.shape), kept)
    return layer.output(layer.intermediate(x), x)


def logits_at(model, input_ids, positions, attention_mask=None, position_ids=None) -> torch.Tensor:
    """As `models.logits_at` for a model `supports` accepts."""
    from transformers.masking_utils import create_bidirectional_mask

    bert = model.bert
    *body, last = bert.encoder.layer
    hidden = bert.embeddings(input_ids=input_ids, position_ids=position_ids)
    mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
    for layer in body:
        hidden = layer(hidden, mask)
    kept = take(hidden, positions)
    one_column = kept.dim() == 2
    key_mask = None if mask is None else mask[:, :, :1]  # bidirectional: every query row is the same
    out = model.cls(last_layer_at(last, hidden, kept[:, None] if one_column else kept, key_mask))
    return out[:, 0] if one_column else out
