"""Serving: hostile input and concurrent load on an exported SavedModel."""
