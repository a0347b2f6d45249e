"""The `ignite-sync` command line: thin Typer commands that call the rooms below with Settings' values."""
