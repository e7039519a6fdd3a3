"""hotseller: predict which e-commerce products become hot sellers, reproducibly."""

__version__ = "0.1.0"
