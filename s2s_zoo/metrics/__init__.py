"""Evaluation metrics of every task."""
