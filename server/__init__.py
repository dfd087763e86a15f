"""The textstream gRPC server: validation, the analysis pipeline and its transports."""
