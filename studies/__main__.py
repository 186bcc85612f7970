from studies.cli import entry

entry()
