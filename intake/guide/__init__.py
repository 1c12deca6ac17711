"""The complaint-handling guideline (OIT): built from the settings, published as /guide and /guide.pdf."""
