"""``python -m avrobust`` (and ``torchrun -m avrobust``): the command line."""

from avrobust.cli import main

main()
