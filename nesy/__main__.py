"""``python -m nesy``: the same as the ``nesy`` command."""

from nesy.cli import main

if __name__ == "__main__":
    main()
