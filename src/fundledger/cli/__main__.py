"""`python -m fundledger.cli` runs the same command line as `fundledger`."""

from fundledger.cli import main

main()
