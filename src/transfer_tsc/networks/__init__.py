"""The networks a study can train (section III-A), each a spec in one registry."""
