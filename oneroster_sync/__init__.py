"""App assembly, configuration, embedded servers and the `oneroster-sync` command."""
