"""Side-by-side measurements of runall (not timed tests); run them all with `make bench`."""
