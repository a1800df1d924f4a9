"""`python -m kit_py` runs the same CLI as `kit`."""

from kit_py.cli.main import main

if __name__ == "__main__":
    main()
