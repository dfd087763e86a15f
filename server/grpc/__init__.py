"""The gRPC transport: server bootstrap, servicer, converters, statuses, interceptors, health."""
