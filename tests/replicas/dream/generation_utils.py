"""Test replica of Dream's generation config (written for flextrap's tests): its
validate() takes `is_init`, as Dream's does."""
from transformers import GenerationConfig


class DreamGenerationConfig(GenerationConfig):
    def validate(self, is_init=False):
        pass
