"""A local AWS for the product: moto, extended with what AWS really does for model cards."""

from emulator.model_cards import install

__all__ = ["install"]
