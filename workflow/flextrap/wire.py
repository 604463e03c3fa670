"""Values across the code-grading call channel as data (`graders`, split harness).

A tagged JSON form of builtin values: each value is a one-key object naming its type,
{"int": "0xc"}, {"float": "nan"}, {"str": "a"}, {"bytes": "<base64>"}, {"bool": true},
{"none": null}, {"list": [...]}, {"tuple": [...]}, {"set": [...]}, {"frozenset": [...]},
{"dict": [[key, value], ...]}, {"complex": [re, im]}, {"range": [start, stop, step]},
{"keys" | "values" | "items": [...]} (a dict view, arriving as a view of a new dict), the standard library's
{"Counter" | "OrderedDict" | "defaultdict": [[key, value], ...]} and {"deque": [...]}
(a defaultdict arrives without its default factory), and {"iter": [...]} (a generator, or
an iterator of a builtin, itertools or collections type, drawn to the end). Ints travel
in hexadecimal. Encoding takes exactly these types: a subclass (an int
whose `==` says yes to everything) or any other object is a `WireError`, never pickled,
never `repr`-ed and evaluated. Sizes are capped: nesting depth, the number of values, the
characters of one string and the items drawn from one iterator.

This file is also sent, as source, into the code sandbox (it imports nothing of the
project), so both sides of the channel use this one codec.
"""
import base64
import collections
import itertools
import json
import types

VIEWS = {type({}.keys()): "keys", type({}.values()): "values", type({}.items()): "items"}
SEQUENCES = (list, tuple, set, frozenset, collections.deque)
MAPPINGS = (dict, collections.Counter, collections.OrderedDict, collections.defaultdict)
LIMITS = {"depth": 32, "values": 100_000, "chars": 1_000_000, "items": 10_000}
ITERATOR_MODULES = ("builtins", "itertools", "collections")  # their iterators, and generators, are drawn


class WireError(ValueError):
    """A value that cannot cross the channel (its type, or a size cap)."""


def encode(value, limits=LIMITS):
    """The tagged form of `value` (JSON-ready); raises WireError."""
    budget = [limits["values"]]
    return _enc(value, 0, budget, limits)


def _spend(depth, budget, limits):
    """Count one value against the caps (shared by encoding and decoding)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > limits["depth"]:
        raise WireError("value too large or too deep")


def _enc(x, depth, budget, limits):
    _spend(depth, budget, limits)
    t = type(x)
    if x is None:
        return {"none": None}
    if t is bool:
        return {"bool": x}
    if t is int:
        return {"int": hex(x)}  # hex: no digit limit (str() of a 5000-digit int raises)
    if t is float:
        return {"float": repr(x)}
    if t is str:
        if len(x) > limits["chars"]:
            raise WireError("string too long")
        return {"str": x}
    if t is bytes:
        if len(x) > limits["chars"]:
            raise WireError("bytes too long")
        return {"bytes": base64.b64encode(x).decode("ascii")}
    if t is complex:
        return {"complex": [repr(x.real), repr(x.imag)]}
    if t in SEQUENCES:
        return {t.__name__: [_enc(v, depth + 1, budget, limits) for v in x]}
    if t in MAPPINGS:
        return {t.__name__: [[_enc(k, depth + 1, budget, limits), _enc(v, depth + 1, budget, limits)]
                             for k, v in x.items()]}
    if t is range:
        return {"range": [hex(x.start), hex(x.stop), hex(x.step)]}
    if t in VIEWS:
        return {VIEWS[t]: _enc(list(x), depth + 1, budget, limits)["list"]}
    if t is types.GeneratorType or (t.__module__ in ITERATOR_MODULES and hasattr(t, "__next__")):
        items = list(itertools.islice(x, limits["items"] + 1))
        if len(items) > limits["items"]:
            raise WireError("iterator too long")
        return {"iter": [_enc(v, depth + 1, budget, limits) for v in items]}
    raise WireError(f"a {t.__name__} is not a builtin value")


def decode(obj, limits=LIMITS):
    """The value of a tagged form; raises WireError on anything malformed."""
    budget = [limits["values"]]
    return _dec(obj, 0, budget, limits)


def _dec(obj, depth, budget, limits):
    _spend(depth, budget, limits)
    if type(obj) is not dict or len(obj) != 1:
        raise WireError("malformed value")
    (tag, v), = obj.items()
    if tag == "none" and v is None:
        return None
    if tag == "bool" and type(v) is bool:
        return v
    if tag == "int" and type(v) is str and len(v) <= 20000:
        try:
            return int(v, 16)
        except ValueError:
            raise WireError("malformed int") from None
    if tag == "range" and type(v) is list and len(v) == 3 and all(type(p) is str and len(p) <= 100 for p in v):
        try:
            return range(*(int(p, 16) for p in v))
        except ValueError:
            raise WireError("malformed range") from None
    if tag in ("keys", "values", "items") and type(v) is list:
        items = [_dec(i, depth + 1, budget, limits) for i in v]
        try:
            if tag == "items":
                return dict(items).items()
            return dict.fromkeys(items).keys() if tag == "keys" else dict(enumerate(items)).values()
        except (TypeError, ValueError):
            raise WireError(f"malformed {tag}") from None
    if tag == "float" and type(v) is str and len(v) <= 40:
        try:
            return float(v)
        except ValueError:
            raise WireError("malformed float") from None
    if tag == "str" and type(v) is str:
        return v
    if tag == "bytes" and type(v) is str:
        try:
            return base64.b64decode(v.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raise WireError("malformed bytes") from None
    if tag == "complex" and type(v) is list and len(v) == 2 and all(type(p) is str and len(p) <= 40 for p in v):
        try:
            return complex(float(v[0]), float(v[1]))
        except ValueError:
            raise WireError("malformed complex") from None
    sequences = {t.__name__: t for t in SEQUENCES}
    if (tag in sequences or tag == "iter") and type(v) is list:
        items = [_dec(i, depth + 1, budget, limits) for i in v]
        try:
            return iter(items) if tag == "iter" else sequences[tag](items)
        except TypeError:  # an unhashable set member
            raise WireError("malformed set") from None
    mappings = {t.__name__: t for t in MAPPINGS}
    if tag in mappings and type(v) is list:
        out = {}
        for pair in v:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict")
            try:
                out[_dec(pair[0], depth + 1, budget, limits)] = _dec(pair[1], depth + 1, budget, limits)
            except TypeError:
                raise WireError("malformed dict key") from None
        return collections.defaultdict(None, out) if tag == "defaultdict" else mappings[tag](out)
    raise WireError(f"malformed value tag {tag!r}")


def dumps(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"
