//! Training: mini-batch loop, early stopping, metrics, checkpoints.
