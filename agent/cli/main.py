"""`python -m agent.cli.main`: the `compass` command without the console script."""

from agent.cli import app

if __name__ == "__main__":
    app()
