"""`python -m kata_runner ...`: sets the project up in .venv on first use, then runs the `kata` CLI."""

from kata_runner.bootstrap import ensure_environment

if __name__ == "__main__":
    ensure_environment()
    from kata_runner.cli import main

    main()
