"""GraphQL types (one module per type under definitions/) and the schema assembly."""
