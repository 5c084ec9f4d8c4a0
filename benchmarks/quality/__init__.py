"""Quality: the results tables of finished runs (translation, aspect
sentiment, sentence pairs, the bottleneck study, decoding options, weight
averages, ensembles, tokenizers, local attention)."""
