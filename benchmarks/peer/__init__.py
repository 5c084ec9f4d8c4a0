"""The peer: OpenNMT-tf trained and served on the same split as ours, one
system after the other on one machine, and the side-by-side table."""
