"""One module per `shortcut-nas` subcommand: `add_parser(subparsers)` and `run(args) -> int`."""
