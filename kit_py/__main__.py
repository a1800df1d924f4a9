"""`python -m kit_py` runs the same CLI as `kit`."""

from kit_py.entry import main

main()
