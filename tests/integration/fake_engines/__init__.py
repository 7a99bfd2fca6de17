"""Local HTTP servers that follow each BI engine's published API, for the hook and operator tests."""
