"""BERT for plugformers. Import the classes from `plugformers` (`from plugformers import
BertModel`) or from the modules here; this package module stays empty so that plugin
discovery imports nothing heavy."""
