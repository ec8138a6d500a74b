"""`python -m bot`: the same command line as the `ragbot` script."""

from .cli import main

if __name__ == "__main__":
    main()
