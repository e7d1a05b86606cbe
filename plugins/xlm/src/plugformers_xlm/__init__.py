"""XLM (Lample & Conneau, 2019), cross-lingual language models, for plugformers."""
