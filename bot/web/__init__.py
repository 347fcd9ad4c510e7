"""HTTP surface (DESIGN.md section 8): webhooks, health, and later the JSON API."""
