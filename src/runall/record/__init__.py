"""What a run leaves behind: the manifest, history from earlier runs, metrics leaderboards and
the JSON/JUnit reports."""
