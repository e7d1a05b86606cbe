"""Transformer-XL (Dai et al., 2019) for plugformers."""
