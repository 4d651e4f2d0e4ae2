"""Erfaringsbanken: store, retrieval, answers and the command line over ingested documents."""
