"""What the user sees: previews (`--list`, `--dry-run`, `--inspect`), plain progress lines, the
live table on a terminal, and the final summary."""
