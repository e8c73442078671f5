"""The configuration: settings records (records), their validation (schema, checks), loading a file (load).

Import from the modules themselves: `newsdigest.config.records` for Config and the settings,
`newsdigest.config.load` for load_config and parse_config, `newsdigest.config.checks` for value checks.
"""
