"""The flags stage: the options each script accepts (`analyser`, by reading its source with
`ast`), the roles they fill (`roles`), and a content-hash cache of the results (`cache`)."""
