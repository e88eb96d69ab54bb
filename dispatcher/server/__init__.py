"""The dispatcher as a LAN service: store, service, HTTP API and its OpenAPI document."""
