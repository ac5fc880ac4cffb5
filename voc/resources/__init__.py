"""Default YAML configs shipped with voc: taxonomy.yaml, journey.yaml, causes.yaml."""
