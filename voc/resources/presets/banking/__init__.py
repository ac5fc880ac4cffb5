"""The banking preset's YAML configs (a package so the files ship in the wheel)."""
