"""Resolver logic and DataLoaders: what the GraphQL fields do, on top of db/ and workers/."""
