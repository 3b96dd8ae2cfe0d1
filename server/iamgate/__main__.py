"""``python -m iamgate``: the same as the ``iamgate`` command."""

from iamgate.cli import run

if __name__ == "__main__":
    run()
