"""Evaluators: held-out metrics, grids and tables of trained models (`python -m train.eval.NAME`)."""
