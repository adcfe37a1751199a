"""What several test folders share: the seed, NumPy oracles, Hypothesis strategies, synthetic result files."""

SEED = 42
