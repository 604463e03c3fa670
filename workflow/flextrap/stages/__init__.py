"""One entry point per Snakemake rule: `python -m flextrap.stages.<rule>`.

Each module is a thin `main` over the library modules of `flextrap` (which never import
a stage); its docstring is the rule's command line and what the rule writes.

Importing this package pins the job's numerics (`flextrap.numerics`, from
`FLEXTRAP_NUMERICS`, which the Snakefile sets) before a stage imports torch.
"""
import sys

from flextrap.numerics import NumericsError, pin_from_environment

try:
    pin_from_environment()
except NumericsError as err:
    sys.exit(f"error: {err}")
