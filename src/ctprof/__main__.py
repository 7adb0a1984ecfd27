"""Entry point for python -m ctprof."""

from .cli import main

main()
