"""`python -m forum` is the same as the `forum` command."""

from forum.cli import main

main()
