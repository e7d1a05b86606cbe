"""XLNet (Yang et al., 2019) for plugformers."""
