"""Several service instances (issue 21, docs/scaling.md): one call owner at a time, by a
lease on PostgreSQL; the others are standbys that serve websockets and forward the API."""
