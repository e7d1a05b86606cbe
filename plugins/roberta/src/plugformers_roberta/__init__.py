"""RoBERTa for plugformers. Import the classes from `plugformers` (`from plugformers import
RobertaModel`) or from the modules here; this package module stays empty so that plugin
discovery imports nothing heavy."""
