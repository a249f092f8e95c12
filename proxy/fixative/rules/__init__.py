"""Rule packs: YAML files of rules that match facts and signals and weigh or decide."""
