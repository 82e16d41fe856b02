"""Constrained local model runtime: patch experts (TFLite or numba float), regularized landmark mean-shift fitting.

model: the shipped experts + shape model, and the face score model; preprocessing: windows in the
reference frame; response: the 68 response maps; rlms: the mean-shift + Gauss-Newton loop;
fitter: levels and schedules; result: what a fit returns.
"""
