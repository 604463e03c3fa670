"""One entry point per Snakemake rule: `python -m flextrap.stages.<rule>`.

Each module is a thin `main` over the library modules of `flextrap` (which never import
a stage); its docstring is the rule's command line and what the rule writes.
"""
