"""Domain presets (taxonomy, journey, causes YAML per domain); loaded by voc.presets."""
