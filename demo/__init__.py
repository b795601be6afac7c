"""`make demo`: the suite on an embedded default stack of local binaries."""
