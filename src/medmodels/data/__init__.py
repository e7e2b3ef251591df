"""Tabular data: the public layouts, validated CSV loading, synthetic cohorts, bundled data."""
