"""The flags stage: which options each script accepts and the roles they fill.

`analyse` reads a script and what it uses of its repository (`interpreter`, one module per
framework under `frameworks/`, nothing imported or run); `roles` maps its options to roles;
`cache` keeps results while every file they were read from is unchanged; `probe` reads
`--help` output when asked to. `model` holds the plain results the later stages use.
"""
