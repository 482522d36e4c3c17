"""What the device says: question packs (TOML data) and their loader and validator."""
