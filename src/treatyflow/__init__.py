"""treatyflow: a legal-process workflow engine for leaving (or suspending) treaties.

Importing the package is cheap: the CLI, the store and the definitions load lazily.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
