"""The local backend: each attempt is a subprocess in its own process group on this machine."""
