# The plan of this config's DAG (flextrap.plan): the rule files ask it for every input
# list and every settings dict they hand a stage, passing their wildcards.

PLAN = Plan(config)
SEEDS = PLAN.seeds
BASE = PLAN.base
CONDA_ENV = "../../envs/cluster-gpu.yaml"  # conda env of every rule under --sdm conda (the cluster)
