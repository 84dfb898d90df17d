"""Dataset builders: training sets made from photos (`python -m train.data.NAME`)."""
