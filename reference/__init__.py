"""Reference implementations of the techniques of "TensorFlow training and optimization", correct on current TensorFlow."""
