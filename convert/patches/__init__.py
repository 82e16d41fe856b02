"""CLM training: patch experts (per-landmark logistic regression), the face score model, TFLite export."""
