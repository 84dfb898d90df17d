"""Publishing tools: a checkpoint or model folder exported, requantized, converted or pushed to the Hub
(`python -m train.publish.NAME`)."""
