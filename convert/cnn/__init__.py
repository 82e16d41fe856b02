"""CNN landmark regressor: model, data and augmentation, Wing loss, training, TFLite export."""
