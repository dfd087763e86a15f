"""Text analyzers behind one interface: sentiment, summary, entities and generation."""
