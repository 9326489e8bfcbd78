"""The local stand-in for API Gateway: real HTTP in, payload-v2 Lambda events to the real handlers."""
