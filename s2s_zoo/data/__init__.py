"""Data: readers for the datasets each family uses, tokenizers, pipelines."""
