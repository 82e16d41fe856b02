"""CNN landmark regressor runtime: the crop both training and inference take, and output decoding."""

from edge.cnn.crop import FILL, CropSpec, crop_from_box, crop_from_points, decode_points, encode_points, normalise, warp_crop

__all__ = ["FILL", "CropSpec", "crop_from_box", "crop_from_points", "decode_points", "encode_points", "normalise", "warp_crop"]
