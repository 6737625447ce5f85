"""The exception types the pipeline reports as one line (no traceback).

Rule scripts (``runner.rule_script``) and the command line catch ``PipelineError`` and print
its message alone: the message names the file, config key or library and the problem.
"""


class PipelineError(Exception):
    """An error whose message says everything the user needs; reported without a traceback."""


class InputError(PipelineError):
    """Bad input data, configuration or model file; the message says which and why."""


class OutputError(PipelineError):
    """A file the pipeline could not write (read-only, no permission, disk full); the message
    names it and the cause."""
