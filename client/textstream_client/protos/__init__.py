"""Generated from protos/textstream.proto by `make protos` (grpc_tools.protoc); do not edit."""
