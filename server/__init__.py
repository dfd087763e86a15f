"""The textstream server: core/ knows no transport; grpc/ and rest/ serve it; main runs both."""
