"""``python -m treatyflow`` runs the CLI."""

from treatyflow.cli import main

if __name__ == "__main__":
    main()
