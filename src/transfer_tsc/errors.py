"""The one exception type the pipeline raises for bad input.

Rule scripts and the command line catch it and print its message alone (no traceback):
the message names the file or config key and the problem.
"""


class InputError(Exception):
    """Bad input data, configuration or model file; the message says which and why."""
