"""Speed: training and decoding throughput against the matmul peak, one
training step's parts, the backends and strategies, one accelerator."""
