"""NumPy oracles written from the formulas, in float64. They never call TensorFlow."""
